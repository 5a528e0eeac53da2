import { dirname, resolve } from 'node:path';
import { type BuildNativeOptions, buildNative, NativeBuildError, validateBuildOptions } from './build.js';
import { listBuilds, nativeRoot } from './paths.js';

export const NATIVE_USAGE = `Usage: ppgn native [source] [options]

Builds tfjs-node's native addon against a TensorFlow you already have, so initBackend()
can use the 'tensorflow' backend without tfjs-node's libtensorflow download.

Source (pick one; default --from-pip):
  --from-pip             an installed python tensorflow/tensorflow-cpu, else
                         \`pip download --no-deps tensorflow-cpu\`
  --pip-package SPEC     pip download SPEC (e.g. tensorflow-cpu==2.21.0, or tensorflow for CUDA)
  --wheel FILE           a TensorFlow .whl file
  --libtensorflow DIR    a directory with lib/ and include/ (a libtensorflow tarball)

Options:
  --tfjs-node FILE       a tfjs-node tarball (npm pack) instead of fetching it
  --dir DIR              where builds go (default $PPGN_NATIVE_DIR or ~/.cache/ppgn/native)
  --python BIN           Python for pip and the build (default python3)
  --verbose              show pip, npm and compiler output
  --keep-temp            keep the temp directory if the build fails
  --list                 list existing builds and exit
  -h, --help             this text
`;

/** A command-line mistake (unknown flag, missing value). */
export class NativeArgsError extends Error {
  override name = 'NativeArgsError';
}

export type NativeCommand = { kind: 'help' } | { kind: 'list'; dir?: string } | { kind: 'build'; options: BuildNativeOptions };

/** Parses `ppgn native` arguments (without the command name). Throws NativeArgsError. */
export function parseNativeArgs(argv: string[]): NativeCommand {
  const options: BuildNativeOptions = {};
  let list = false;
  const withValue: Record<string, keyof BuildNativeOptions> = {
    '--pip-package': 'pipPackage',
    '--wheel': 'wheel',
    '--libtensorflow': 'libtensorflow',
    '--tfjs-node': 'tfjsNodeTarball',
    '--dir': 'dir',
    '--python': 'python',
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const flag = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    if (flag === '-h' || flag === '--help') return { kind: 'help' };
    const key = withValue[flag];
    if (key) {
      const value = eq > 0 && arg.startsWith('--') ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === '' || (eq < 0 && value.startsWith('--'))) {
        throw new NativeArgsError(`${flag} needs a value`);
      }
      (options as Record<string, unknown>)[key] = value;
      continue;
    }
    if (flag === '--from-pip') options.fromPip = true;
    else if (flag === '--verbose') options.verbose = true;
    else if (flag === '--keep-temp') options.keepTemp = true;
    else if (flag === '--list') list = true;
    else throw new NativeArgsError(`unknown argument '${arg}'`);
  }
  if (list) return { kind: 'list', dir: options.dir };
  return { kind: 'build', options };
}

/** Runs `ppgn native` with the given arguments; returns the process exit code. */
export async function runNativeCli(
  argv: string[],
  out: (line: string) => void = (l) => process.stdout.write(`${l}\n`),
  err: (line: string) => void = (l) => process.stderr.write(`${l}\n`),
): Promise<number> {
  let command: NativeCommand;
  try {
    command = parseNativeArgs(argv);
    if (command.kind === 'build') validateBuildOptions(command.options);
  } catch (e) {
    if (e instanceof NativeArgsError || e instanceof NativeBuildError) {
      err(`ppgn native: ${e.message}`);
      err('Run `ppgn native --help` for usage.');
      return 2;
    }
    throw e;
  }
  if (command.kind === 'help') {
    out(NATIVE_USAGE);
    return 0;
  }
  if (command.kind === 'list') {
    const root = command.dir ?? nativeRoot();
    const builds = listBuilds(root);
    if (builds.length === 0) out(`no builds under ${root}`);
    for (const b of builds) {
      const m = b.manifest;
      out(`${b.dir}  TensorFlow ${m.tensorflowVersion}${m.gpu ? ' (GPU)' : ''}  tfjs ${m.tfjsVersion}  ${m.source.kind} ${m.source.path}  ${m.builtAt}`);
    }
    return 0;
  }
  try {
    const { dir, manifest } = await buildNative({ ...command.options, log: command.options.log ?? err });
    out(`Built TensorFlow ${manifest.tensorflowVersion} for tfjs ${manifest.tfjsVersion} in ${manifest.buildSeconds}s: ${dir}`);
    const root = dirname(dir);
    if (resolve(root) === resolve(nativeRoot())) {
      out("initBackend() now picks the 'tensorflow' backend (PPGN_NATIVE=0 turns it off).");
    } else {
      out(`initBackend() finds it with PPGN_NATIVE_DIR=${root} (PPGN_NATIVE=0 turns native off).`);
    }
    return 0;
  } catch (e) {
    if (e instanceof NativeBuildError) {
      err(`ppgn native: failed at ${e.message}`);
      return 1;
    }
    err(`ppgn native: failed: ${(e as Error).stack ?? e}`);
    return 1;
  }
}
