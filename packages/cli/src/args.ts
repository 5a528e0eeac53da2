/**
 * Flag parsing for the ppgn commands: every flag is declared with its type, allowed values
 * and help line, so a bad flag gets an error naming the flag and what is allowed.
 */
export interface FlagSpec {
  type: 'string' | 'number' | 'integer' | 'boolean';
  help: string;
  default?: string | number | boolean;
  /** Allowed values for a string flag. */
  choices?: readonly string[];
  /** Inclusive range for numeric flags. */
  min?: number;
  max?: number;
  /** Can be given several times; the value is then an array. */
  multiple?: boolean;
}

export type FlagSpecs = Record<string, FlagSpec>;
export type FlagValue = string | number | boolean | Array<string | number>;
export type ParsedFlags = Record<string, FlagValue | undefined>;

export class UsageError extends Error {}

export interface CommandSpec {
  name: string;
  summary: string;
  usage: string;
  flags: FlagSpecs;
  /** Names of positional arguments, for help. */
  positionals?: string[];
  run(flags: ParsedFlags, positionals: string[]): Promise<void>;
  /** A command with its own argument parser: gets the raw arguments, returns the exit code. */
  raw?: (argv: string[]) => Promise<number>;
}

function convert(name: string, spec: FlagSpec, raw: string): string | number {
  if (spec.type === 'string') {
    if (spec.choices && !spec.choices.includes(raw)) {
      throw new UsageError(`--${name}: '${raw}' is not allowed; use one of ${spec.choices.join(', ')}`);
    }
    return raw;
  }
  const value = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(value)) {
    throw new UsageError(`--${name}: expected a number, got '${raw}'`);
  }
  if (spec.type === 'integer' && !Number.isInteger(value)) {
    throw new UsageError(`--${name}: expected an integer, got '${raw}'`);
  }
  if ((spec.min !== undefined && value < spec.min) || (spec.max !== undefined && value > spec.max)) {
    throw new UsageError(`--${name}: ${raw} is out of range [${spec.min ?? '-inf'}, ${spec.max ?? 'inf'}]`);
  }
  return value;
}

/** Parses `--flag value`, `--flag=value` and `--switch` / `--no-switch` against `specs`. */
export function parseFlags(argv: string[], specs: FlagSpecs): { flags: ParsedFlags; positionals: string[] } {
  const flags: ParsedFlags = {};
  const positionals: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positionals.push(arg);
      continue;
    }
    let name = arg.slice(2);
    let inline: string | undefined;
    const eq = name.indexOf('=');
    if (eq >= 0) {
      inline = name.slice(eq + 1);
      name = name.slice(0, eq);
    }
    const spec = specs[name];
    if (!spec && name.startsWith('no-') && specs[name.slice(3)]?.type === 'boolean') {
      flags[name.slice(3)] = false;
      continue;
    }
    if (!spec) {
      const known = Object.keys(specs).map((k) => `--${k}`);
      throw new UsageError(`unknown flag --${name}; allowed: ${known.join(', ') || '(none)'}`);
    }
    if (spec.type === 'boolean') {
      if (inline !== undefined && !['true', 'false'].includes(inline)) {
        throw new UsageError(`--${name}: expected true or false, got '${inline}'`);
      }
      flags[name] = inline === undefined ? true : inline === 'true';
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined || (inline === undefined && raw.startsWith('--'))) {
      throw new UsageError(`--${name}: missing value (${spec.help})`);
    }
    const value = convert(name, spec, raw);
    if (spec.multiple) {
      const prev = flags[name];
      flags[name] = [...(Array.isArray(prev) ? prev : []), value];
    } else {
      flags[name] = value;
    }
  }
  for (const [name, spec] of Object.entries(specs)) {
    if (flags[name] === undefined && spec.default !== undefined) flags[name] = spec.default;
  }
  return { flags, positionals };
}

export function commandHelp(cmd: CommandSpec): string {
  const lines = [`ppgn ${cmd.usage}`, '', cmd.summary, '', 'Flags:'];
  for (const [name, spec] of Object.entries(cmd.flags)) {
    const value = spec.type === 'boolean' ? '' : ` <${spec.choices ? spec.choices.join('|') : spec.type}>`;
    const def = spec.default !== undefined ? ` (default ${spec.default})` : '';
    lines.push(`  --${name}${value}`.padEnd(34) + `${spec.help}${def}`);
  }
  lines.push(`  --help`.padEnd(34) + 'show this help');
  return lines.join('\n');
}

/**
 * Parses a command's flags and runs it; returns the exit code: 0, 2 for a usage error
 * (printed with a pointer to --help), 1 for any other error (its message; the stack with
 * PPGN_DEBUG set).
 */
export async function runCommand(cmd: CommandSpec, argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(commandHelp(cmd));
    return 0;
  }
  try {
    const { flags, positionals } = parseFlags(argv, cmd.flags);
    await cmd.run(flags, positionals);
    return 0;
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`ppgn ${cmd.name}: ${err.message}\nRun 'ppgn ${cmd.name} --help' for usage.`);
      return 2;
    }
    console.error(`ppgn ${cmd.name}: ${(err as Error).message}`);
    if (process.env.PPGN_DEBUG) console.error((err as Error).stack);
    return 1;
  }
}
