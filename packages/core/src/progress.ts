/**
 * Progress for long jobs: a redrawn bar on a terminal, plain lines (every 10%) in CI logs
 * or pipes. Writes to stderr so stdout stays clean for results.
 */
export interface Progress {
  /** Advance to `done` of `total`; `info` is shown after the bar (e.g. `loss 0.123`). */
  update(done: number, info?: string): void;
  /** Final line. */
  finish(info?: string): void;
}

export interface ProgressOptions {
  /** Force one style; by default a bar when stderr is a TTY and CI is unset. */
  mode?: 'bar' | 'lines' | 'silent';
  stream?: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
}

/** Where progress goes without a stream: stderr in Node, the console in a browser. */
function defaultStream(): NonNullable<ProgressOptions['stream']> {
  if (typeof process !== 'undefined' && process.stderr) return process.stderr;
  const write = (text: string): boolean => {
    console.info(text.trimEnd());
    return true;
  };
  return { write } as unknown as NonNullable<ProgressOptions['stream']>;
}

export function createProgress(label: string, total: number, options: ProgressOptions = {}): Progress {
  const stream = options.stream ?? defaultStream();
  const env = typeof process !== 'undefined' ? process.env : {};
  const mode = options.mode ?? (env.PPGN_QUIET ? 'silent' : stream.isTTY && !env.CI ? 'bar' : 'lines');
  const started = Date.now();
  let lastTenth = -1;
  const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)}s`;
  const eta = (done: number) => {
    if (done <= 0) return '?';
    const left = ((Date.now() - started) / done) * (total - done);
    return `${(left / 1000).toFixed(0)}s`;
  };
  return {
    update(done, info = '') {
      if (mode === 'silent') return;
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      if (mode === 'bar') {
        const width = 28;
        const filled = Math.round(frac * width);
        const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
        stream.write(`\r${label} [${bar}] ${done}/${total} ${elapsed()} eta ${eta(done)} ${info}\x1b[K`);
      } else {
        const tenth = Math.floor(frac * 10);
        if (tenth > lastTenth) {
          lastTenth = tenth;
          stream.write(`${label} ${done}/${total} (${Math.round(frac * 100)}%) ${elapsed()} ${info}\n`);
        }
      }
    },
    finish(info = '') {
      if (mode === 'silent') return;
      if (mode === 'bar') stream.write('\n');
      stream.write(`${label} done in ${elapsed()} ${info}\n`);
    },
  };
}
