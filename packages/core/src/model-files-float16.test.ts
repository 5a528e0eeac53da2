import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { float32ToFloat16Bits, loadModel, saveModel } from './model-files.js';

const dir = mkdtempSync(join(tmpdir(), 'ppgn-f16-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('float16 weights', () => {
  it('converts float32 to IEEE half bits, rounding to nearest even', () => {
    expect(float32ToFloat16Bits(1)).toBe(0x3c00);
    expect(float32ToFloat16Bits(-2)).toBe(0xc000);
    expect(float32ToFloat16Bits(0.1)).toBe(0x2e66);
    expect(float32ToFloat16Bits(65504)).toBe(0x7bff);
    expect(float32ToFloat16Bits(70000)).toBe(0x7c00);
    expect(float32ToFloat16Bits(2 ** -24)).toBe(0x0001); // smallest subnormal
    expect(float32ToFloat16Bits(1e-9)).toBe(0);
    expect(float32ToFloat16Bits(1 + 2 ** -11)).toBe(0x3c00); // halfway, rounds to even
    expect(float32ToFloat16Bits(Number.NaN) & 0x7c00).toBe(0x7c00);
  });

  it('saves a model at half the bytes; it loads with predictions within float16 precision', async () => {
    const model = tf.sequential({
      layers: [tf.layers.dense({ inputShape: [16], units: 64, activation: 'relu' }), tf.layers.dense({ units: 8 })],
    });
    const full = join(dir, 'full');
    const half = join(dir, 'half');
    await saveModel(model, full);
    await saveModel(model, half, undefined, { quantize: 'float16' });
    const size = (d: string) => statSync(join(d, readdirSync(d).find((f) => f.endsWith('.bin'))!)).size;
    expect(size(half)).toBe(size(full) / 2);
    const loaded = await loadModel(half);
    const x = tf.randomNormal([5, 16], 0, 1, 'float32', 1);
    const a = model.predict(x) as tf.Tensor;
    const b = loaded.predict(x) as tf.Tensor;
    const err = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!;
    const scale = tf.max(tf.abs(a)).dataSync()[0]!;
    expect(err / scale).toBeLessThan(5e-3);
    expect(err).toBeGreaterThan(0);
    tf.dispose([x, a, b]);
    model.dispose();
    loaded.dispose();
  });
});
