import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

/** What `buildNative` writes next to a built binding, and what the loader reads. */
export interface NativeManifest {
  /** Manifest layout version. */
  format: 1;
  /** TensorFlow C library version, as reported by the built binding's `TF_Version()`. */
  tensorflowVersion: string;
  /** The @tensorflow/tfjs version the binding was built for (tfjs-node has the same version). */
  tfjsVersion: string;
  /** Where the TensorFlow C library came from. */
  source: {
    kind: 'pip-installed' | 'pip-download' | 'wheel' | 'libtensorflow';
    /** Wheel file, installed package dir, or libtensorflow dir. */
    path: string;
    /** pip requirement used for a download, or the wheel's distribution name. */
    package?: string;
  };
  /** Whether the TensorFlow library was built with CUDA (it links the CUDA runtime). */
  gpu: boolean;
  /** Paths relative to the manifest's directory. */
  paths: {
    /** The tfjs-node package directory (require this). */
    package: string;
    /** The compiled addon. */
    binding: string;
    /** The TensorFlow shared libraries the addon loads (via its rpath). */
    lib: string;
  };
  /** Absolute directory at build time, for information. */
  dir: string;
  node: string;
  napiVersion: number;
  platform: string;
  arch: string;
  builtAt: string;
  buildSeconds: number;
}

export const MANIFEST_FILE = 'manifest.json';

/** Root directory under which `ppgn native` builds live: `$PPGN_NATIVE_DIR` or `~/.cache/ppgn/native`. */
export function nativeRoot(): string {
  const env = process.env.PPGN_NATIVE_DIR;
  if (env && env.trim() !== '') return env;
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return join(cache, 'ppgn', 'native');
}

/** The @tensorflow/tfjs this package sees: its version and its main file. */
export function appTfjs(): { version: string; main: string; dir: string } {
  const require = createRequire(import.meta.url);
  const main = require.resolve('@tensorflow/tfjs');
  const pkgPath = require.resolve('@tensorflow/tfjs/package.json');
  const version = (JSON.parse(readFileSync(pkgPath, 'utf8')) as { version: string }).version;
  return { version, main, dir: dirname(pkgPath) };
}

export interface FoundBuild {
  dir: string;
  manifest: NativeManifest;
}

/** Every readable manifest directly under `root` (one directory per build). Never throws. */
export function listBuilds(root: string = nativeRoot()): FoundBuild[] {
  if (!existsSync(root)) return [];
  const found: FoundBuild[] = [];
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  for (const name of names) {
    if (name.startsWith('.')) continue; // temp and old build dirs
    const file = join(root, name, MANIFEST_FILE);
    try {
      const manifest = JSON.parse(readFileSync(file, 'utf8')) as NativeManifest;
      if (manifest.format === 1 && manifest.paths?.package) found.push({ dir: join(root, name), manifest });
    } catch {
      // not a build dir, or unreadable: ignore
    }
  }
  return found;
}

/** The newest build usable by this process (same tfjs version, platform, arch), or why none is. */
export function pickBuild(
  tfjsVersion: string,
  root: string = nativeRoot(),
): { build: FoundBuild } | { reason: string } {
  const builds = listBuilds(root);
  if (builds.length === 0) {
    return {
      reason: `no native binding: none built under ${root} (run \`ppgn native\`) and @tensorflow/tfjs-node is not installed`,
    };
  }
  const napi = Number(process.versions.napi ?? 0);
  const fits = builds.filter(
    (b) =>
      b.manifest.tfjsVersion === tfjsVersion &&
      b.manifest.platform === process.platform &&
      b.manifest.arch === process.arch &&
      b.manifest.napiVersion <= napi,
  );
  if (fits.length === 0) {
    const have = builds.map((b) => `tfjs ${b.manifest.tfjsVersion} ${b.manifest.platform}-${b.manifest.arch}`).join(', ');
    return {
      reason: `no native binding for tfjs ${tfjsVersion} on ${process.platform}-${process.arch} under ${root} (found: ${have}); run \`ppgn native\` again`,
    };
  }
  fits.sort((a, b) => b.manifest.builtAt.localeCompare(a.manifest.builtAt));
  return { build: fits[0]! };
}
