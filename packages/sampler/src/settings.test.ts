import { describe, expect, it } from 'vitest';
import { resolveSettings } from './sampler.js';
import { DEFAULT_SETTINGS, NEURON_RESET, PRESETS, VARIANTS, learningRateAt } from './settings.js';

describe('variants', () => {
  it('carry the official defaults', () => {
    for (const name of ['ppgn-x', 'ppgn-h', 'joint-ppgn-h', 'noiseless-joint-ppgn-h'] as const) {
      const v = VARIANTS[name];
      expect(v.name).toBe(name);
      expect([v.eps1, v.eps2, v.lr, v.steps, v.saveEvery, v.stepMode]).toEqual([1e-5, 1, 1, 200, 5, 'normalised']);
      expect(v.eps3).toBe(name === 'noiseless-joint-ppgn-h' ? 0 : 1e-17);
      expect(v.clip).toEqual([0, 30]);
      expect(v.decay).toBe(0);
      expect(v.conditionObjective).toBe('log-prob');
    }
    expect(VARIANTS['ppgn-x'].prior).toBe('x');
    expect(VARIANTS['ppgn-h'].prior).toBe('h');
    expect(VARIANTS['joint-ppgn-h'].prior).toBe('h');
    const dgn = VARIANTS['dgn-am'];
    expect([dgn.prior, dgn.eps1, dgn.eps3, dgn.decay, dgn.conditionObjective]).toEqual(['none', 0, 0, 0.01, 'logit']);
    expect(dgn.clip).toEqual([0, 30]);
  });

  it('are frozen plain objects; every setting is overridable', () => {
    expect(Object.isFrozen(VARIANTS['ppgn-h'])).toBe(true);
    const { settings, variant } = resolveSettings({ variant: 'noiseless-joint-ppgn-h', eps1: 1e-3, clip: null, steps: 20 });
    expect(variant?.name).toBe('noiseless-joint-ppgn-h');
    expect(settings).toMatchObject({ eps1: 1e-3, eps2: 1, eps3: 0, clip: null, steps: 20, saveEvery: 5 });
    // undefined does not override
    expect(resolveSettings({ variant: 'ppgn-h', eps1: undefined }).settings.eps1).toBe(1e-5);
    // a custom preset object works like a named one
    const mine = { ...VARIANTS['ppgn-h'], name: 'ppgn-h' as const, eps1: 0.5 };
    expect(resolveSettings({ variant: mine }).settings.eps1).toBe(0.5);
  });

  it('without a variant: official numbers, no clip, no decay', () => {
    const { settings, variant } = resolveSettings({});
    expect(variant).toBeNull();
    expect(settings).toEqual({ ...DEFAULT_SETTINGS, lrEnd: undefined });
    expect(settings.clip).toBeNull();
    expect([settings.eps1, settings.eps2, settings.eps3, settings.eps4]).toEqual([1e-5, 1, 1e-17, 1e-9]);
  });

  it('application presets', () => {
    expect(PRESETS.caption).toEqual({ eps1: 1e-3, lr: 1, lrEnd: 1e-10, lrSchedule: 'linear', steps: 200 });
    expect(PRESETS.inpainting).toEqual({ steps: 20, eps3: 0, eps4: 1e-9 });
    expect(PRESETS.neuron.steps).toBe(1000);
    expect(NEURON_RESET).toEqual({ every: 100, eps1: [1e-6, 1e-2] });
  });
});

describe('learning-rate schedules', () => {
  const base = { lr: 1, lrEnd: 1e-4, steps: 5 };
  it('constant, linear and exponential from lr to lrEnd', () => {
    const at = (lrSchedule: 'constant' | 'linear' | 'exponential') =>
      [0, 1, 2, 3, 4].map((t) => learningRateAt({ ...base, lrSchedule }, t));
    expect(at('constant')).toEqual([1, 1, 1, 1, 1]);
    const lin = at('linear');
    expect(lin[0]).toBe(1);
    expect(lin[2]).toBeCloseTo(0.50005, 10);
    expect(lin[4]).toBeCloseTo(1e-4, 12);
    const exp = at('exponential');
    for (const [i, v] of [1, 0.1, 0.01, 0.001, 0.0001].entries()) expect(exp[i]).toBeCloseTo(v, 12);
  });

  it('a function schedule and a single-step chain', () => {
    expect(learningRateAt({ ...base, lrSchedule: (t, n) => t / n }, 2)).toBe(0.4);
    expect(learningRateAt({ lr: 2, lrEnd: 1, steps: 1, lrSchedule: 'linear' }, 0)).toBe(2);
    expect(learningRateAt({ lr: 2, steps: 3, lrSchedule: 'linear' }, 2)).toBe(2);
  });
});
