import { describe, expect, it } from 'vitest';
import { type CommandSpec, commandHelp, parseFlags } from './args.js';
import { main } from './main.js';

const specs = {
  zoo: { type: 'string', help: 'zoo entry', choices: ['mnist', 'shapes'] },
  class: { type: 'integer', help: 'class index', min: 0, max: 9 },
  eps1: { type: 'number', help: 'prior weight', default: 1e-5 },
  eval: { type: 'boolean', help: 'write metrics' },
  caption: { type: 'string', help: 'caption', multiple: true },
} as const satisfies CommandSpec['flags'];

describe('parseFlags', () => {
  it('reads values, defaults, switches and repeated flags', () => {
    const { flags, positionals } = parseFlags(
      ['train', '--zoo', 'mnist', '--class=3', '--eval', '--caption', 'a b', '--caption', 'c'],
      specs,
    );
    expect(flags).toEqual({ zoo: 'mnist', class: 3, eval: true, eps1: 1e-5, caption: ['a b', 'c'] });
    expect(positionals).toEqual(['train']);
    expect(parseFlags(['--no-eval'], specs).flags.eval).toBe(false);
  });

  it('names the flag and the allowed values on bad input', () => {
    expect(() => parseFlags(['--zoo', 'cifar'], specs)).toThrow("--zoo: 'cifar' is not allowed; use one of mnist, shapes");
    expect(() => parseFlags(['--class', '12'], specs)).toThrow('--class: 12 is out of range [0, 9]');
    expect(() => parseFlags(['--class', '1.5'], specs)).toThrow('--class: expected an integer');
    expect(() => parseFlags(['--eps1', 'abc'], specs)).toThrow("--eps1: expected a number, got 'abc'");
    expect(() => parseFlags(['--colour', 'red'], specs)).toThrow(/unknown flag --colour; allowed: --zoo, --class/);
    expect(() => parseFlags(['--zoo'], specs)).toThrow('--zoo: missing value');
  });

  it('prints help listing every flag', () => {
    const help = commandHelp({ name: 'x', summary: 'does x', usage: 'x [flags]', flags: specs, run: async () => {} });
    for (const name of Object.keys(specs)) expect(help).toContain(`--${name}`);
    expect(help).toContain('mnist|shapes');
  });

  it('rejects an unknown command with exit code 2', async () => {
    expect(await main(['frobnicate'])).toBe(2);
  });
});
