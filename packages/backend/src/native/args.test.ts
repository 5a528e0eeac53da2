import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NativeArgsError, parseNativeArgs, runNativeCli } from './args.js';
import { buildNative, NativeBuildError, validateBuildOptions } from './build.js';

const scratch = mkdtempSync(join(tmpdir(), 'ppgn-native-args-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('parseNativeArgs', () => {
  it('defaults to a pip build', () => {
    expect(parseNativeArgs([])).toEqual({ kind: 'build', options: {} });
    expect(parseNativeArgs(['--from-pip'])).toEqual({ kind: 'build', options: { fromPip: true } });
  });

  it('reads sources and options, with a space or =', () => {
    expect(parseNativeArgs(['--wheel', 'a.whl', '--dir=/x', '--verbose'])).toEqual({
      kind: 'build',
      options: { wheel: 'a.whl', dir: '/x', verbose: true },
    });
    expect(parseNativeArgs(['--pip-package=tensorflow-cpu==2.21.0', '--python', 'python3.11'])).toEqual({
      kind: 'build',
      options: { pipPackage: 'tensorflow-cpu==2.21.0', python: 'python3.11' },
    });
    expect(parseNativeArgs(['--list'])).toEqual({ kind: 'list', dir: undefined });
    expect(parseNativeArgs(['--wheel', 'x', '--help'])).toEqual({ kind: 'help' });
  });

  it('rejects unknown flags and missing values', () => {
    expect(() => parseNativeArgs(['--whl', 'a.whl'])).toThrow(NativeArgsError);
    expect(() => parseNativeArgs(['--whl'])).toThrow("unknown argument '--whl'");
    expect(() => parseNativeArgs(['--wheel'])).toThrow('--wheel needs a value');
    expect(() => parseNativeArgs(['--wheel', '--verbose'])).toThrow('--wheel needs a value');
    expect(() => parseNativeArgs(['--libtensorflow='])).toThrow('--libtensorflow needs a value');
  });
});

describe('validateBuildOptions', () => {
  it('names a missing wheel file', () => {
    const file = join(scratch, 'no-such-tensorflow.whl');
    expect(() => validateBuildOptions({ wheel: file })).toThrow(`wheel not found: ${file}`);
    try {
      validateBuildOptions({ wheel: file });
    } catch (err) {
      expect(err).toBeInstanceOf(NativeBuildError);
      expect((err as NativeBuildError).step).toBe('options');
    }
  });

  it('rejects a file that is not a wheel, two sources, and a libtensorflow dir without lib/', () => {
    const txt = join(scratch, 'tensorflow.txt');
    writeFileSync(txt, 'x');
    expect(() => validateBuildOptions({ wheel: txt })).toThrow(`not a .whl file: ${txt}`);
    const whl = join(scratch, 'tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl');
    writeFileSync(whl, 'x');
    expect(() => validateBuildOptions({ wheel: whl, libtensorflow: scratch })).toThrow('--wheel and --libtensorflow both name');
    expect(() => validateBuildOptions({ fromPip: true, wheel: whl })).toThrow('--from-pip and --wheel');
    const lt = join(scratch, 'libtf');
    mkdirSync(join(lt, 'include'), { recursive: true });
    expect(() => validateBuildOptions({ libtensorflow: lt })).toThrow(`${lt} has no lib/ directory`);
    expect(() => validateBuildOptions({ libtensorflow: join(scratch, 'nope') })).toThrow('libtensorflow directory not found');
    expect(() => validateBuildOptions({ tfjsNodeTarball: join(scratch, 'x.tgz') })).toThrow('tfjs-node tarball not found');
    expect(validateBuildOptions({ wheel: whl })).toEqual({ kind: 'wheel', file: whl });
  });

  it('buildNative fails fast on bad options, before building anything', async () => {
    const dir = join(scratch, 'root');
    const file = join(scratch, 'missing.whl');
    await expect(buildNative({ wheel: file, dir, log: () => {} })).rejects.toThrow(file);
    expect(() => rmSync(dir)).toThrow(); // nothing was created
  });
});

describe('runNativeCli', () => {
  it('prints the error naming the file and returns 2', async () => {
    const errs: string[] = [];
    const file = join(scratch, 'gone.whl');
    const code = await runNativeCli(['--wheel', file], () => {}, (l) => errs.push(l));
    expect(code).toBe(2);
    expect(errs[0]).toBe(`ppgn native: options: wheel not found: ${file}; pass the path of a TensorFlow .whl file (e.g. from \`pip download --no-deps tensorflow-cpu\`)`);
  });

  it('prints usage for --help and lists an empty root', async () => {
    const out: string[] = [];
    expect(await runNativeCli(['--help'], (l) => out.push(l))).toBe(0);
    expect(out.join('\n')).toContain('--libtensorflow DIR');
    out.length = 0;
    expect(await runNativeCli(['--list', '--dir', scratch], (l) => out.push(l))).toBe(0);
    expect(out).toEqual([`no builds under ${scratch}`]);
  });
});
