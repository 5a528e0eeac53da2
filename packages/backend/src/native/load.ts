import { realpathSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { compareWithCpu } from './check.js';
import { registerNativeKernels } from './kernels.js';
import { appTfjs, nativeRoot, pickBuild } from './paths.js';

export type NativeLoadResult = { ok: true; source: string } | { ok: false; reason: string };

/** Packages installed the normal way, tried in this order before a `ppgn native` build. */
const PACKAGES = ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node'] as const;

/** tfjs packages that must come from the app's copy when required from inside a native package. */
const SHARED = /^@tensorflow\/tfjs(-core|-backend-cpu|-layers|-converter|-data)?(\/|$)/;

type ResolveFilename = (request: string, parent: { filename?: string | null } | undefined, ...rest: unknown[]) => string;

/** Directories (with trailing separator) whose requires of tfjs are sent to the app's copy. */
const redirectedRoots: string[] = [];
let hookInstalled = false;

/**
 * Makes `require('@tensorflow/tfjs…')` from files under `dir` resolve to this app's tfjs, so a
 * native package registers its 'tensorflow' backend and kernels into the one tfjs instance the
 * app uses (tfjs-node requires '@tensorflow/tfjs' and '@tensorflow/tfjs-core').
 */
function redirectTfjsRequires(dir: string): void {
  const root = realpathSync(dir) + sep;
  if (!redirectedRoots.includes(root)) redirectedRoots.push(root);
  if (hookInstalled) return;
  hookInstalled = true;
  const app = appTfjs();
  const fromTfjs = createRequire(app.main);
  const M = Module as unknown as { _resolveFilename: ResolveFilename };
  const original = M._resolveFilename;
  M._resolveFilename = function (this: unknown, request, parent, ...rest) {
    const from = parent?.filename;
    if (from && SHARED.test(request) && redirectedRoots.some((r) => from.startsWith(r))) {
      try {
        return request === '@tensorflow/tfjs' ? app.main : fromTfjs.resolve(request);
      } catch {
        // not part of the app's tfjs: resolve normally
      }
    }
    return original.call(this, request, parent, ...rest);
  };
}

function oneLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return (text.split('\n').find((l) => l.trim() !== '') ?? text).trim().slice(0, 300);
}

/** Finds an installed package from this package's location, then from the working directory. */
function resolvePackage(name: string): string | undefined {
  const requires = [createRequire(import.meta.url), createRequire(join(process.cwd(), 'index.js'))];
  for (const req of requires) {
    try {
      return req.resolve(`${name}/package.json`).slice(0, -'/package.json'.length);
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * Requires a tfjs-node style package dir with tfjs redirected to the app's copy, then checks that
 * it shares the app's engine and matches the cpu backend. Returns null on success or a reason.
 */
async function loadAndCheck(packageDir: string, label: string): Promise<string | null> {
  const before = (tf.engine() as unknown as { backendName?: string | null }).backendName ?? null;
  redirectTfjsRequires(packageDir);
  let tfn: { engine?: () => unknown; tensor?: unknown };
  try {
    tfn = createRequire(join(packageDir, 'package.json'))(packageDir);
  } catch (err) {
    return `${label} failed to load: ${oneLine(err)}`;
  }
  const appCjs = createRequire(import.meta.url)('@tensorflow/tfjs') as { tensor: unknown };
  let problem: string | null = null;
  if (!tf.findBackendFactory('tensorflow')) {
    problem = `${label} loaded but registered no 'tensorflow' backend in this app's tfjs`;
  } else if (tfn.engine?.() !== tf.engine() || tfn.tensor !== appCjs.tensor) {
    problem = `${label} loaded a second copy of @tensorflow/tfjs instead of the app's`;
  } else {
    try {
      const mismatch = await compareWithCpu(tf, 'tensorflow');
      if (mismatch) problem = `${label} failed its numeric check: ${mismatch}`;
    } catch (err) {
      problem = `${label} failed its numeric check: ${oneLine(err)}`;
    }
  }
  if (problem) {
    try {
      tf.removeBackend('tensorflow');
    } catch {
      // already gone
    }
  }
  if (before && before !== tf.getBackend()) await tf.setBackend(before).catch(() => false);
  return problem;
}

function loaded(source: string): NativeLoadResult {
  registerNativeKernels();
  return { ok: true, source };
}

async function tryLoad(): Promise<NativeLoadResult> {
  const reasons: string[] = [];
  for (const name of PACKAGES) {
    const dir = resolvePackage(name);
    if (!dir) continue;
    const problem = await loadAndCheck(dir, name);
    if (!problem) return loaded(name);
    reasons.push(problem);
  }
  const tfjsVersion = appTfjs().version;
  const picked = pickBuild(tfjsVersion, nativeRoot());
  if ('reason' in picked) {
    reasons.push(picked.reason);
  } else {
    const { dir, manifest } = picked.build;
    const label = `native binding ${dir}`;
    const problem = await loadAndCheck(join(dir, manifest.paths.package), label);
    if (!problem) return loaded(`${dir} (TensorFlow ${manifest.tensorflowVersion}${manifest.gpu ? ', GPU' : ''})`);
    reasons.push(problem);
  }
  return { ok: false, reason: reasons.join('; ') };
}

let attempt: Promise<NativeLoadResult> | undefined;

/**
 * Loads native TensorFlow for tfjs and registers its 'tensorflow' backend into this app's tfjs:
 * `@tensorflow/tfjs-node-gpu`, then `@tensorflow/tfjs-node`, then the newest binding built by
 * `ppgn native` (see `buildNative`) for this tfjs version. A loaded binding must pass a numeric
 * check against the cpu backend. Never throws; `{ ok: false, reason }` tells why nothing was
 * used. `PPGN_NATIVE=0` disables it. The outcome of an actual load is remembered per process.
 */
export async function loadNativeTensorFlow(): Promise<NativeLoadResult> {
  if (process.env.PPGN_NATIVE === '0') return { ok: false, reason: 'native TensorFlow disabled by PPGN_NATIVE=0' };
  if (attempt) return attempt;
  try {
    if (tf.findBackendFactory('tensorflow')) {
      // Someone already imported a native package; check what it registered.
      attempt = compareWithCpu(tf, 'tensorflow').then(
        (m) => (m ? { ok: false, reason: `the registered 'tensorflow' backend failed its numeric check: ${m}` } : loaded('already registered')),
        (err) => ({ ok: false, reason: `the registered 'tensorflow' backend failed: ${oneLine(err)}` }),
      );
      return attempt;
    }
    const hasAny = PACKAGES.some((p) => resolvePackage(p)) || !('reason' in pickBuild(appTfjs().version, nativeRoot()));
    if (!hasAny) return await tryLoad(); // nothing to load: cheap, not remembered
    attempt = tryLoad().catch((err) => ({ ok: false, reason: oneLine(err) }));
    return attempt;
  } catch (err) {
    return { ok: false, reason: oneLine(err) };
  }
}
