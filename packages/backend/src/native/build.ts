/**
 * Builds tfjs-node's native addon from source against a TensorFlow C library the user already
 * has, so the 'tensorflow' backend works without tfjs-node's own libtensorflow download.
 *
 * The route:
 * 1. TensorFlow C library. Every TensorFlow pip wheel for Linux ships `libtensorflow_cc.so.2` and
 *    `libtensorflow_framework.so.2`, which export the whole C and eager C API tfjs-node's binding
 *    calls (`TF_*`, `TFE_*`), plus the C headers under `tensorflow/include/`. We take them from an
 *    installed python `tensorflow`/`tensorflow-cpu` (found without importing it), from
 *    `pip download --no-deps tensorflow-cpu`, from a `.whl` file (a zip), or from a libtensorflow
 *    directory with `lib/` and `include/` (the layout of the official libtensorflow tarballs).
 * 2. tfjs-node sources: `npm pack @tensorflow/tfjs-node@<version of the app's @tensorflow/tfjs>`,
 *    extracted. Its install script (which downloads libtensorflow) is never run.
 * 3. `deps/lib` gets the two libraries plus the link names `binding.gyp` expects
 *    (`libtensorflow.so` -> `libtensorflow_cc.so.2`, `libtensorflow_framework.so`); `deps/include`
 *    the headers. The addon is linked with rpath `$ORIGIN/../../deps/lib` and records the
 *    libraries' sonames, so it loads without LD_LIBRARY_PATH.
 * 4. `node-gyp rebuild` with the variables node-pre-gyp would pass (module_name, module_path,
 *    napi_build_version), so tfjs-node's own loader finds `lib/napi-v<N>/tfjs_binding.node`.
 * 5. tfjs-node's runtime dependencies: `npm install --omit=dev --ignore-scripts`, except
 *    @tensorflow/tfjs itself: `loadNativeTensorFlow` resolves tfjs-node's requires of
 *    `@tensorflow/tfjs` and `@tensorflow/tfjs-core` to the app's own copy (the build is for the
 *    app's tfjs version, recorded in the manifest), so there is exactly one tfjs instance.
 * 6. A smoke test in a child process (load, matMul, `TF_Version()`), a `manifest.json`, and an
 *    atomic rename of the finished build directory into place:
 *    `$PPGN_NATIVE_DIR` or `~/.cache/ppgn/native`, then `<tensorflow version>-<tfjs version>/`.
 *    A failed build removes its temp directory and leaves any earlier build untouched.
 *
 * GPU (CUDA 12): the binding is the same code for CPU and GPU (tfjs-node-gpu only links a GPU
 * libtensorflow), so the same route gives a GPU backend when the libraries come from a
 * CUDA-enabled TensorFlow: `pip install 'tensorflow[and-cuda]'` (the Linux `tensorflow` wheel is
 * built with CUDA; `[and-cuda]` brings CUDA 12 and cuDNN as pip packages), then
 * `ppgn native --pip-package tensorflow` or `ppgn native --wheel tensorflow-<v>-...whl`. The
 * copied libraries look for CUDA in the usual system places, so when CUDA comes from pip add
 * its library folders to LD_LIBRARY_PATH, e.g.
 * `export LD_LIBRARY_PATH=$(python3 -c "import nvidia, os; p=nvidia.__path__[0]; print(':'.join(os.path.join(p, d, 'lib') for d in os.listdir(p)))")`,
 * or use a system CUDA 12 + cuDNN 9 install. The backend is still named 'tensorflow';
 * TensorFlow places ops on the GPU by itself.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { appTfjs, MANIFEST_FILE, type NativeManifest, nativeRoot } from './paths.js';

export interface BuildNativeOptions {
  /**
   * Take TensorFlow from pip (the default when no other source is given): an installed python
   * `tensorflow`/`tensorflow-cpu` if there is one, else `pip download --no-deps tensorflow-cpu`.
   */
  fromPip?: boolean;
  /** Download this pip requirement instead (e.g. `tensorflow` for CUDA, `tensorflow-cpu==2.21.0`). */
  pipPackage?: string;
  /** A TensorFlow wheel file (`tensorflow-*.whl` or `tensorflow_cpu-*.whl`). */
  wheel?: string;
  /** A directory with `lib/libtensorflow*.so*` and `include/tensorflow/c/`. */
  libtensorflow?: string;
  /** A tfjs-node package tarball (from `npm pack`) to use instead of fetching one. */
  tfjsNodeTarball?: string;
  /** Root for builds; default `$PPGN_NATIVE_DIR` or `~/.cache/ppgn/native`. */
  dir?: string;
  /** Python used for pip and wheel extraction; default `python3`. */
  python?: string;
  /** Stream the output of pip, npm and the compiler. */
  verbose?: boolean;
  /** Keep the temp directory of a failed build, for inspection. */
  keepTemp?: boolean;
  /** Progress lines; default: stderr. */
  log?: (line: string) => void;
}

export interface BuildNativeResult {
  /** The finished build directory. */
  dir: string;
  manifest: NativeManifest;
}

/** A build failure: which step failed, what happened, and what to do about it. */
export class NativeBuildError extends Error {
  constructor(
    readonly step: string,
    readonly detail: string,
    readonly fix: string,
  ) {
    super(`${step}: ${detail}${fix ? `; ${fix}` : ''}`);
    this.name = 'NativeBuildError';
  }
}

type Source =
  | { kind: 'pip'; pipPackage?: string }
  | { kind: 'wheel'; file: string }
  | { kind: 'libtensorflow'; dir: string };

/** Checks options without touching the network or building anything; returns the chosen source. */
export function validateBuildOptions(options: BuildNativeOptions): Source {
  const given = [
    options.wheel !== undefined && '--wheel',
    options.libtensorflow !== undefined && '--libtensorflow',
    options.pipPackage !== undefined && '--pip-package',
  ].filter(Boolean) as string[];
  if (options.fromPip && (options.wheel !== undefined || options.libtensorflow !== undefined)) {
    given.unshift('--from-pip');
  }
  if (given.length > 1) {
    throw new NativeBuildError('options', `${given.join(' and ')} both name a TensorFlow source`, 'pass only one');
  }
  if (process.platform !== 'linux') {
    throw new NativeBuildError(
      'options',
      `building from a TensorFlow wheel is supported on Linux only (this is ${process.platform})`,
      'install @tensorflow/tfjs-node the normal way',
    );
  }
  if (options.tfjsNodeTarball !== undefined && !isFile(options.tfjsNodeTarball)) {
    throw new NativeBuildError(
      'options',
      `tfjs-node tarball not found: ${resolve(options.tfjsNodeTarball)}`,
      'pass a file made by `npm pack @tensorflow/tfjs-node@<version>`, or leave --tfjs-node out to fetch it',
    );
  }
  if (options.wheel !== undefined) {
    const file = resolve(options.wheel);
    if (!isFile(file)) {
      throw new NativeBuildError(
        'options',
        `wheel not found: ${file}`,
        'pass the path of a TensorFlow .whl file (e.g. from `pip download --no-deps tensorflow-cpu`)',
      );
    }
    if (!file.endsWith('.whl')) {
      throw new NativeBuildError('options', `not a .whl file: ${file}`, 'pass a TensorFlow wheel (tensorflow*-*.whl)');
    }
    return { kind: 'wheel', file };
  }
  if (options.libtensorflow !== undefined) {
    const dir = resolve(options.libtensorflow);
    if (!isDir(dir)) {
      throw new NativeBuildError(
        'options',
        `libtensorflow directory not found: ${dir}`,
        'pass a directory with lib/ and include/ (an extracted libtensorflow tarball)',
      );
    }
    for (const sub of ['lib', 'include']) {
      if (!isDir(join(dir, sub))) {
        throw new NativeBuildError(
          'options',
          `${dir} has no ${sub}/ directory`,
          'pass a directory with lib/libtensorflow*.so* and include/tensorflow/c/',
        );
      }
    }
    return { kind: 'libtensorflow', dir };
  }
  return { kind: 'pip', pipPackage: options.pipPackage };
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

interface RunResult {
  code: number;
  stdout: string;
  tail: string;
}

/** Runs a command; output is streamed when verbose, and its last lines are kept for errors. */
function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: NodeJS.ProcessEnv; verbose?: boolean; log: (l: string) => void },
): Promise<RunResult> {
  const shown = [cmd, ...args].map((a) => (a.includes('\n') ? '<script>' : /[\s'"$]/.test(a) ? JSON.stringify(a) : a));
  opts.log(`  $ ${shown.join(' ')}`);
  return new Promise((resolvePromise) => {
    let stdout = '';
    let tail = '';
    const keep = (s: string) => {
      tail = (tail + s).slice(-4000);
    };
    let child: ReturnType<typeof spawn>;
    try {
      child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      resolvePromise({ code: 127, stdout: '', tail: (err as Error).message });
      return;
    }
    child.stdout!.on('data', (d: Buffer) => {
      const s = d.toString();
      stdout += s;
      keep(s);
      if (opts.verbose) process.stderr.write(s);
    });
    child.stderr!.on('data', (d: Buffer) => {
      const s = d.toString();
      keep(s);
      if (opts.verbose) process.stderr.write(s);
    });
    child.on('error', (err) => resolvePromise({ code: 127, stdout, tail: `${tail}\n${err.message}` }));
    child.on('close', (code) => resolvePromise({ code: code ?? 1, stdout, tail }));
  });
}

/** The last few non-empty lines of a command's output, for an error message. */
function lastLines(text: string, n = 6): string {
  const lines = text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l.trim() !== '');
  return lines.slice(-n).join(' | ');
}

function commandWorks(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: 'ignore' });
  return r.status === 0;
}

/** npm's bundled node-gyp, or one resolvable from here; else undefined (fall back to npx). */
function findNodeGyp(): string | undefined {
  const candidates = [
    process.env.npm_config_node_gyp,
    join(dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'),
  ];
  const npmRoot = spawnSync('npm', ['root', '-g'], { encoding: 'utf8' });
  if (npmRoot.status === 0) {
    candidates.push(join(npmRoot.stdout.trim(), 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  }
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch {
    // not installed here
  }
  return candidates.find((c): c is string => !!c && isFile(c));
}

/** A Node headers directory node-gyp can use without downloading (e.g. /usr for /usr/bin/node). */
function findNodeDir(): string | undefined {
  const fromEnv = process.env.npm_config_nodedir;
  if (fromEnv && existsSync(join(fromEnv, 'include', 'node', 'node_api.h'))) return fromEnv;
  const prefix = resolve(dirname(process.execPath), '..');
  if (existsSync(join(prefix, 'include', 'node', 'node_api.h'))) return prefix;
  return undefined;
}

/** Removes `.build-<pid>-*` directories left by builds whose process is gone. */
function removeStaleTemps(root: string, log: (l: string) => void): void {
  let names: string[] = [];
  try {
    names = readdirSync(root);
  } catch {
    return;
  }
  for (const name of names) {
    const m = /^\.(?:build|old)-(\d+)-/.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    let alive = pid === process.pid;
    try {
      process.kill(pid, 0);
      alive = true;
    } catch (err) {
      alive = (err as NodeJS.ErrnoException).code === 'EPERM';
    }
    if (!alive) {
      log(`  removing ${join(root, name)} (left by an interrupted build)`);
      rmSync(join(root, name), { recursive: true, force: true });
    }
  }
}

/** Hard link when possible (same file system), else copy. */
function linkOrCopy(from: string, to: string): void {
  try {
    linkSync(from, to);
  } catch {
    copyFileSync(from, to);
  }
}

/** A located TensorFlow: where its libraries and headers are. */
interface TensorFlowFiles {
  /** Main library (libtensorflow_cc.so.2 in wheels, libtensorflow.so.2 in tarballs). */
  main: string;
  framework: string;
  /** Other library files to carry over (e.g. the versioned files a tarball's symlinks point to). */
  extra: string[];
  include: string;
  /** True when the library files live in our temp dir and can be moved instead of copied. */
  movable: boolean;
  version?: string;
  kind: NativeManifest['source']['kind'];
  path: string;
  package?: string;
  gpu: boolean;
}

const WHEEL_LIB = /^tensorflow\/libtensorflow(_cc|_framework)?\.so(\.\d+)*$/;

/** Finds the two libraries in a TensorFlow python package directory (installed or extracted). */
function fromPackageDir(dir: string): { main: string; framework: string } | undefined {
  const main = ['libtensorflow_cc.so.2', 'libtensorflow.so.2'].map((n) => join(dir, n)).find(isFile);
  const framework = join(dir, 'libtensorflow_framework.so.2');
  return main && isFile(framework) ? { main, framework } : undefined;
}

/** Parses `name-version-...whl`. */
function wheelInfo(file: string): { name: string; version?: string } {
  const m = /^([A-Za-z0-9_.]+)-(\d[^-]*)-/.exec(basename(file));
  return m ? { name: m[1]!, version: m[2] } : { name: basename(file) };
}

const EXTRACT_PY = `
import json, re, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
lib = re.compile(r'${WHEEL_LIB.source}')
names = [n for n in z.namelist() if n.startswith('tensorflow/include/') or lib.match(n)]
z.extractall(sys.argv[2], names)
print(json.dumps(sorted(n for n in names if lib.match(n))))
`;

async function extractWheel(
  python: string,
  wheel: string,
  into: string,
  ctx: { verbose?: boolean; log: (l: string) => void },
): Promise<string> {
  ctx.log(`  extracting the TensorFlow libraries and headers from ${wheel}`);
  const r = await run(python, ['-c', EXTRACT_PY, wheel, into], { ...ctx, verbose: false });
  if (r.code !== 0) {
    throw new NativeBuildError(
      'extract wheel',
      `could not read ${wheel}: ${lastLines(r.tail, 2)}`,
      'check that the file is a complete TensorFlow wheel (a zip); re-download it',
    );
  }
  const pkg = join(into, 'tensorflow');
  if (!fromPackageDir(pkg)) {
    throw new NativeBuildError(
      'extract wheel',
      `${wheel} has no tensorflow/libtensorflow_cc.so.2 and libtensorflow_framework.so.2`,
      'pass a Linux TensorFlow wheel (tensorflow or tensorflow-cpu, 2.x, manylinux x86_64 or aarch64)',
    );
  }
  return pkg;
}

const FIND_TF_PY = `
import importlib.util, importlib.metadata as md, json
s = importlib.util.find_spec('tensorflow')
out = None
if s is not None and s.submodule_search_locations:
    d = list(s.submodule_search_locations)[0]
    out = {'dir': d}
    for n in ('tensorflow', 'tensorflow-cpu', 'tensorflow-gpu', 'tf-nightly', 'tf-nightly-cpu', 'intel-tensorflow'):
        try:
            out['version'] = md.version(n); out['package'] = n; break
        except Exception:
            pass
print(json.dumps(out))
`;

async function locateTensorFlow(
  source: Source,
  work: string,
  ctx: { python: string; verbose?: boolean; log: (l: string) => void },
): Promise<TensorFlowFiles> {
  const { python, log } = ctx;
  if (source.kind === 'libtensorflow') {
    log(`==> TensorFlow: using the libtensorflow directory ${source.dir}`);
    const libDir = join(source.dir, 'lib');
    const names = readdirSync(libDir).filter((n) => /^libtensorflow(_cc|_framework)?\.so/.test(n));
    const pick = (re: RegExp) =>
      names
        .filter((n) => re.test(n))
        .sort((a, b) => a.length - b.length)
        .map((n) => join(libDir, n))[0];
    const main = pick(/^libtensorflow\.so\.\d/) ?? pick(/^libtensorflow_cc\.so\.\d/) ?? pick(/^libtensorflow(_cc)?\.so$/);
    const framework = pick(/^libtensorflow_framework\.so\.\d/) ?? pick(/^libtensorflow_framework\.so$/);
    if (!main || !framework) {
      throw new NativeBuildError(
        'locate TensorFlow',
        `${libDir} lacks libtensorflow.so.2 (or libtensorflow_cc.so.2) and libtensorflow_framework.so.2`,
        'pass the root of an extracted libtensorflow tarball, or use --wheel / --from-pip',
      );
    }
    const version = names.map((n) => /^libtensorflow\.so\.(\d+\.\d+\.\d+)$/.exec(n)?.[1]).find(Boolean);
    return {
      main,
      framework,
      extra: names.map((n) => join(libDir, n)),
      include: join(source.dir, 'include'),
      movable: false,
      version,
      kind: 'libtensorflow',
      path: source.dir,
      gpu: /gpu|cuda/i.test(source.dir),
    };
  }
  if (source.kind === 'wheel') {
    log(`==> TensorFlow: using the wheel ${source.file}`);
    const pkg = await extractWheel(python, source.file, join(work, 'wheel'), ctx);
    const libs = fromPackageDir(pkg)!;
    const info = wheelInfo(source.file);
    return {
      ...libs,
      extra: [],
      include: join(pkg, 'include'),
      movable: true,
      version: info.version,
      kind: 'wheel',
      path: source.file,
      package: info.name,
      gpu: isGpuPackage(info.name),
    };
  }
  // pip: an installed TensorFlow first (no download), unless a requirement was named.
  if (!commandWorks(python, ['--version'])) {
    throw new NativeBuildError(
      'pip',
      `${python} not found`,
      'install Python 3 (node-gyp needs it too) or pass --python BIN; or pass --wheel FILE / --libtensorflow DIR',
    );
  }
  if (!source.pipPackage) {
    log(`==> TensorFlow: looking for an installed python tensorflow (${python})`);
    const r = await run(python, ['-c', FIND_TF_PY], { ...ctx, verbose: false });
    const found = r.code === 0 ? (JSON.parse(r.stdout.trim() || 'null') as { dir: string; version?: string; package?: string } | null) : null;
    const libs = found ? fromPackageDir(found.dir) : undefined;
    if (found && libs) {
      log(`  found ${found.package ?? 'tensorflow'}${found.version ? ` ${found.version}` : ''} at ${found.dir}`);
      return {
        ...libs,
        extra: [],
        include: join(found.dir, 'include'),
        movable: false,
        version: found.version,
        kind: 'pip-installed',
        path: found.dir,
        package: found.package,
        gpu: isGpuPackage(found.package ?? ''),
      };
    }
    log(found ? `  ${found.dir} has no libtensorflow_cc.so.2; downloading instead` : '  none installed');
  }
  const requirement = source.pipPackage ?? 'tensorflow-cpu';
  log(`==> TensorFlow: pip download --no-deps ${requirement} (a few hundred MB)`);
  const dl = join(work, 'pip');
  mkdirSync(dl, { recursive: true });
  const r = await run(
    python,
    ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '--disable-pip-version-check', '-d', dl, requirement],
    ctx,
  );
  const wheels = isDir(dl) ? readdirSync(dl).filter((n) => n.endsWith('.whl')) : [];
  if (r.code !== 0 || wheels.length === 0) {
    throw new NativeBuildError(
      'pip',
      `pip could not download ${requirement}: ${lastLines(r.tail.split('\n').filter((l) => /^ERROR/.test(l)).join('\n') || r.tail, 3) || 'no wheel'}`,
      `pass --wheel FILE (any Linux tensorflow/tensorflow-cpu wheel, e.g. from \`pip download --no-deps --only-binary=:all: --python-version 3.11 ${requirement}\` elsewhere) or --libtensorflow DIR`,
    );
  }
  const wheel = join(dl, wheels[0]!);
  log(`  downloaded ${wheels[0]}`);
  const pkg = await extractWheel(python, wheel, join(work, 'wheel'), ctx);
  rmSync(dl, { recursive: true, force: true });
  const info = wheelInfo(wheel);
  return {
    ...fromPackageDir(pkg)!,
    extra: [],
    include: join(pkg, 'include'),
    movable: true,
    version: info.version,
    kind: 'pip-download',
    path: basename(wheel), // the download itself is removed after the build
    package: requirement,
    gpu: isGpuPackage(info.name),
  };
}

/** The Linux `tensorflow` wheel is built with CUDA; `tensorflow-cpu` and `*-cpu` are not. */
function isGpuPackage(name: string): boolean {
  const n = name.toLowerCase().replace(/_/g, '-');
  return n === 'tensorflow' || n === 'tf-nightly' || n.includes('gpu');
}

/** Puts the libraries into deps/lib under the names binding.gyp links against. */
function populateLib(tf: TensorFlowFiles, libDir: string, log: (l: string) => void): void {
  mkdirSync(libDir, { recursive: true });
  const files = [tf.main, tf.framework, ...tf.extra.filter((f) => f !== tf.main && f !== tf.framework)];
  const names = new Set(files.map((f) => basename(f)));
  for (const f of files) {
    const to = join(libDir, basename(f));
    if (existsSync(to)) continue;
    const link = readlinkSafe(f);
    if (link !== undefined && dirname(resolve(dirname(f), link)) === dirname(f) && names.has(basename(link))) {
      symlinkSync(basename(link), to); // e.g. libtensorflow.so.2 -> libtensorflow.so.2.9.1 in a tarball
    } else if (tf.movable && link === undefined) {
      renameSync(f, to);
    } else {
      linkOrCopy(realpathSync(f), to);
    }
  }
  const ensureLink = (name: string, target: string) => {
    const p = join(libDir, name);
    if (existsSync(p)) return;
    rmSync(p, { force: true }); // a dangling link
    symlinkSync(target, p);
  };
  // The addon records each library's soname, so a file by that name must be in deps/lib.
  for (const lib of [tf.main, tf.framework]) {
    const soname = readSoname(join(libDir, basename(lib)));
    if (soname && soname !== basename(lib)) ensureLink(soname, basename(lib));
  }
  ensureLink('libtensorflow.so', basename(tf.main));
  ensureLink('libtensorflow.so.2', basename(tf.main));
  ensureLink('libtensorflow_framework.so', basename(tf.framework));
  log(`  ${libDir}: ${readdirSync(libDir).sort().join(', ')}`);
}

/** A shared library's soname, from `readelf -d` (binutils come with the compiler); undefined if unknown. */
function readSoname(file: string): string | undefined {
  const r = spawnSync('readelf', ['-d', file], { encoding: 'utf8' });
  return r.status === 0 ? /Library soname: \[([^\]]+)\]/.exec(r.stdout)?.[1] : undefined;
}

function readlinkSafe(p: string): string | undefined {
  try {
    return readlinkSync(p);
  } catch {
    return undefined;
  }
}

/** Replaces the deps/include link with a copy of just the headers the compiler read (from its .d files). */
function keepUsedHeaders(pkgDir: string): number {
  const includeDir = join(pkgDir, 'deps', 'include');
  const target = readlinkSafe(includeDir);
  if (target === undefined) return 0;
  const used = new Set<string>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      if (isDir(p)) walk(p);
      else if (name.endsWith('.d')) {
        for (const tok of readFileSync(p, 'utf8').split(/[\s\\]+/)) {
          if (!tok || tok.endsWith(':')) continue;
          const rel = relative(includeDir, resolve(join(pkgDir, 'build'), tok));
          if (!rel.startsWith('..') && !isAbsolute(rel)) used.add(rel);
        }
      }
    }
  };
  const depsDir = join(pkgDir, 'build', 'Release', '.deps');
  if (isDir(depsDir)) walk(depsDir);
  unlinkSync(includeDir);
  mkdirSync(includeDir, { recursive: true });
  for (const rel of used) {
    const from = join(target, rel);
    if (!isFile(from)) continue;
    mkdirSync(dirname(join(includeDir, rel)), { recursive: true });
    copyFileSync(from, join(includeDir, rel));
  }
  return used.size;
}

/** The N-API version node-pre-gyp would pick: the highest the package lists that this Node supports. */
function napiBuildVersion(pkgJson: { binary?: { napi_versions?: number[] } }): number {
  const supported = Number(process.versions.napi ?? 3);
  const listed = (pkgJson.binary?.napi_versions ?? [3]).filter((v) => v <= supported);
  return listed.length ? Math.max(...listed) : 3;
}

/** Loads the built package the way the loader does: its tfjs requires go to the app's tfjs. */
const SMOKE_JS = `
const Module = require('module');
const [pkg, bindingFile, tfjsMain] = process.argv.slice(1);
const fromTfjs = Module.createRequire(tfjsMain);
const pkgReal = require('fs').realpathSync(pkg);
const resolveFilename = Module._resolveFilename;
Module._resolveFilename = function (request, parent, ...rest) {
  if (parent && parent.filename && parent.filename.startsWith(pkgReal) && /^@tensorflow\\/tfjs(-core|-backend-cpu|-layers|-converter|-data)?(\\/|$)/.test(request)) {
    return request === '@tensorflow/tfjs' ? tfjsMain : fromTfjs.resolve(request);
  }
  return resolveFilename.call(this, request, parent, ...rest);
};
const tfn = require(pkg);
const binding = require(bindingFile);
const y = tfn.matMul(tfn.tensor2d([[1, 2], [3, 4]]), tfn.tensor2d([[1, 2], [3, 4]])).arraySync();
console.log(JSON.stringify({ tf: binding.TF_Version, backend: tfn.getBackend(), y }));
`;

/**
 * Builds tfjs-node's addon against a local TensorFlow (see the top of this file) into
 * `<root>/<tensorflow version>-<tfjs version>/` and returns that directory and its manifest.
 * Throws `NativeBuildError` naming the failed step and the fix; never leaves a partial build.
 */
export async function buildNative(options: BuildNativeOptions = {}): Promise<BuildNativeResult> {
  const started = Date.now();
  const print = options.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  // Step lines carry the time since the start, so slow steps are easy to spot.
  const log = (l: string) => print(l.startsWith('==>') ? `${l}  [${Math.round((Date.now() - started) / 1000)}s]` : l);
  const source = validateBuildOptions(options);
  const python = options.python ?? 'python3';
  const root = resolve(options.dir ?? nativeRoot());
  const ctx = { python, verbose: options.verbose, log };

  log('==> checking build tools');
  let tfjs: ReturnType<typeof appTfjs>;
  try {
    tfjs = appTfjs();
  } catch (err) {
    throw new NativeBuildError('check tools', `@tensorflow/tfjs is not resolvable: ${(err as Error).message}`, 'install @tensorflow/tfjs');
  }
  const cxx = process.env.CXX || 'g++';
  if (!commandWorks(cxx, ['--version'])) {
    throw new NativeBuildError('check tools', `no C++ compiler (${cxx})`, 'install one (e.g. `apt-get install g++ make`) or set CXX');
  }
  if (!commandWorks('make', ['--version'])) {
    throw new NativeBuildError('check tools', 'make not found', 'install it (e.g. `apt-get install make`)');
  }
  if (!commandWorks(python, ['--version'])) {
    throw new NativeBuildError('check tools', `${python} not found (node-gyp needs Python 3)`, 'install Python 3 or pass --python BIN');
  }
  const nodeGyp = findNodeGyp();
  const nodeDir = findNodeDir();
  log(`  tfjs ${tfjs.version}; ${cxx}, make, ${python}; node-gyp ${nodeGyp ?? 'via npx'}; Node headers ${nodeDir ?? 'downloaded by node-gyp'}`);

  mkdirSync(root, { recursive: true });
  removeStaleTemps(root, log);
  const tmp = join(root, `.build-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  const work = join(tmp, '.work');
  mkdirSync(work, { recursive: true });
  log(`  building in ${tmp}`);
  let finished = false;
  try {
    // tfjs-node sources, same version as the app's tfjs.
    const pkgDir = join(tmp, 'tfjs-node');
    let tarball = options.tfjsNodeTarball ? resolve(options.tfjsNodeTarball) : undefined;
    if (!tarball) {
      log(`==> fetching @tensorflow/tfjs-node@${tfjs.version} (npm pack)`);
      const r = await run('npm', ['pack', `@tensorflow/tfjs-node@${tfjs.version}`, '--pack-destination', work, '--silent'], {
        ...ctx,
        verbose: false,
      });
      const tgz = readdirSync(work).find((n) => n.endsWith('.tgz'));
      if (r.code !== 0 || !tgz) {
        throw new NativeBuildError(
          'fetch tfjs-node',
          `npm pack @tensorflow/tfjs-node@${tfjs.version} failed: ${lastLines(r.tail, 3)}`,
          'check npm registry access (`npm ping`), or pass --tfjs-node FILE with a tarball from `npm pack`',
        );
      }
      tarball = join(work, tgz);
    } else {
      log(`==> using the tfjs-node tarball ${tarball}`);
    }
    const unpack = join(work, 'tfjs-node');
    mkdirSync(unpack, { recursive: true });
    const tar = await run('tar', ['-xzf', tarball, '-C', unpack], { ...ctx, verbose: false });
    if (tar.code !== 0 || !isFile(join(unpack, 'package', 'binding.gyp'))) {
      throw new NativeBuildError(
        'extract tfjs-node',
        `${tarball} is not a tfjs-node package: ${lastLines(tar.tail, 2) || 'no binding.gyp'}`,
        'pass a tarball made by `npm pack @tensorflow/tfjs-node@<version>`',
      );
    }
    renameSync(join(unpack, 'package'), pkgDir);
    const pkgJsonPath = join(pkgDir, 'package.json');
    const pkgJson = JSON.parse(readFileSync(pkgJsonPath, 'utf8'));
    if (pkgJson.version !== tfjs.version) {
      log(`  note: tfjs-node ${pkgJson.version} with tfjs ${tfjs.version}`);
    }

    // TensorFlow libraries and headers.
    const tf = await locateTensorFlow(source, work, ctx);
    if (!isFile(join(tf.include, 'tensorflow', 'c', 'c_api.h')) || !isFile(join(tf.include, 'tensorflow', 'c', 'eager', 'c_api.h'))) {
      throw new NativeBuildError(
        'locate TensorFlow',
        `TensorFlow C headers not found in ${tf.include} (expected tensorflow/c/c_api.h and tensorflow/c/eager/c_api.h)`,
        'use a full TensorFlow wheel or libtensorflow tarball (they include them)',
      );
    }
    log('==> populating deps/ (libraries and headers)');
    populateLib(tf, join(pkgDir, 'deps', 'lib'), log);
    symlinkSync(tf.include, join(pkgDir, 'deps', 'include'));

    // tfjs-node's runtime dependencies, no install scripts. Not @tensorflow/tfjs: the loader sends
    // tfjs-node's tfjs requires to the app's own copy (same version, checked via the manifest), so
    // a second copy would only cost ~270 MB and risk a second tfjs instance if it were ever used.
    log('==> installing tfjs-node runtime dependencies (npm install --omit=dev --ignore-scripts)');
    pkgJson.dependencies = { ...pkgJson.dependencies };
    delete pkgJson.dependencies['@tensorflow/tfjs'];
    delete pkgJson.devDependencies;
    delete pkgJson.scripts;
    writeFileSync(pkgJsonPath, `${JSON.stringify(pkgJson, null, 2)}\n`);
    const npmI = await run(
      'npm',
      ['install', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--no-package-lock', '--loglevel=error'],
      { ...ctx, cwd: pkgDir },
    );
    if (npmI.code !== 0) {
      throw new NativeBuildError(
        'npm install',
        `installing tfjs-node's dependencies failed: ${lastLines(npmI.tail, 3)}`,
        'check npm registry access (`npm ping`) and rerun',
      );
    }

    // Compile.
    const napi = napiBuildVersion(pkgJson);
    const modulePath = join(pkgDir, 'lib', `napi-v${napi}`);
    const gypArgs = [
      'rebuild',
      `--module_name=${pkgJson.binary?.module_name ?? 'tfjs_binding'}`,
      `--module_path=${modulePath}`,
      `--napi_build_version=${napi}`,
      ...(nodeDir ? [`--nodedir=${nodeDir}`] : []),
      '--jobs=max',
    ];
    log(`==> compiling the addon with node-gyp (N-API ${napi}; about a minute)`);
    const gyp = nodeGyp
      ? await run(process.execPath, [nodeGyp, ...gypArgs], { ...ctx, cwd: pkgDir })
      : await run('npx', ['--yes', 'node-gyp', ...gypArgs], { ...ctx, cwd: pkgDir });
    const bindingFile = join(modulePath, `${pkgJson.binary?.module_name ?? 'tfjs_binding'}.node`);
    if (gyp.code !== 0 || !isFile(bindingFile)) {
      throw new NativeBuildError(
        'node-gyp',
        `compiling tfjs-node's addon failed: ${lastLines(gyp.tail, 6)}`,
        're-run with --verbose to see the compiler output; check g++, make, python3 and the Node headers (`npm config get nodedir`)',
      );
    }
    const headers = keepUsedHeaders(pkgDir);
    rmSync(join(pkgDir, 'build'), { recursive: true, force: true });
    log(`  built ${bindingFile} (kept ${headers} TensorFlow headers in deps/include)`);

    // Smoke test in a child process: a bad library crashes it, not us.
    log('==> smoke test (load the addon, run a matMul)');
    const smoke = await run(process.execPath, ['-e', SMOKE_JS, pkgDir, bindingFile, tfjs.main], {
      ...ctx,
      verbose: false,
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
    });
    let smokeOut: { tf: string; backend: string; y: number[][] } | undefined;
    try {
      smokeOut = JSON.parse(smoke.stdout.trim().split('\n').pop() ?? '');
    } catch {
      smokeOut = undefined;
    }
    if (smoke.code !== 0 || !smokeOut || JSON.stringify(smokeOut.y) !== '[[7,10],[15,22]]' || smokeOut.backend !== 'tensorflow') {
      throw new NativeBuildError(
        'smoke test',
        `the built addon did not work: ${smokeOut ? JSON.stringify(smokeOut) : lastLines(smoke.tail.split('\n').filter((l) => /error/i.test(l)).join('\n') || smoke.tail, 3)}`,
        tf.gpu
          ? 'a CUDA TensorFlow needs CUDA 12 and cuDNN libraries on LD_LIBRARY_PATH; or build from tensorflow-cpu (--pip-package tensorflow-cpu)'
          : 'check that the TensorFlow library matches this CPU and glibc (try another TensorFlow version with --pip-package tensorflow-cpu==X)',
      );
    }
    const tfVersion = smokeOut.tf || tf.version || 'unknown';
    log(`  TensorFlow ${tfVersion} works through tfjs-node ${pkgJson.version}`);

    // Manifest, then move into place.
    const name = `${tfVersion}-${tfjs.version}`.replace(/[^A-Za-z0-9._+-]/g, '_');
    const finalDir = join(root, name);
    rmSync(work, { recursive: true, force: true });
    const manifest: NativeManifest = {
      format: 1,
      tensorflowVersion: tfVersion,
      tfjsVersion: tfjs.version,
      source: { kind: tf.kind, path: tf.path, ...(tf.package ? { package: tf.package } : {}) },
      gpu: tf.gpu,
      paths: {
        package: 'tfjs-node',
        binding: relative(tmp, bindingFile),
        lib: relative(tmp, join(pkgDir, 'deps', 'lib')),
      },
      dir: finalDir,
      node: process.version,
      napiVersion: napi,
      platform: process.platform,
      arch: process.arch,
      builtAt: new Date().toISOString(),
      buildSeconds: Math.round((Date.now() - started) / 1000),
    };
    writeFileSync(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    log(`==> installing into ${finalDir}`);
    let old: string | undefined;
    if (existsSync(finalDir)) {
      old = join(root, `.old-${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
      renameSync(finalDir, old);
    }
    renameSync(tmp, finalDir);
    finished = true;
    if (old) rmSync(old, { recursive: true, force: true });
    log(`==> done in ${manifest.buildSeconds}s: ${finalDir}`);
    return { dir: finalDir, manifest };
  } finally {
    if (!finished) {
      if (options.keepTemp) log(`  keeping ${tmp} for inspection (--keep-temp)`);
      else rmSync(tmp, { recursive: true, force: true });
    }
  }
}
