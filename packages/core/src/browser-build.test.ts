/**
 * The browser build swaps each module that needs Node for its `*.browser.ts` sibling (see
 * packageBuildWithBrowser in tsup.base.ts): every sibling must export the same names, and
 * what cannot work in a browser must say so.
 */
import { readdirSync, readFileSync } from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';

const src = path.dirname(fileURLToPath(import.meta.url));
const siblings = (readdirSync(src, { recursive: true }) as string[]).filter((f) => f.endsWith('.browser.ts')).sort();

describe('browser stand-ins', () => {
  it('exist for every module of the package entry that imports node: built-ins', () => {
    const nodeBound = (readdirSync(src, { recursive: true }) as string[])
      .filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.endsWith('.browser.ts') && !f.startsWith('testing'))
      .filter((f) => /from 'node:/.test(readFileSync(path.join(src, f), 'utf8')))
      .sort();
    expect(nodeBound.length).toBeGreaterThan(0);
    expect(nodeBound.map((f) => f.replace(/\.ts$/, '.browser.ts'))).toEqual(siblings);
  });

  for (const file of siblings) {
    it(`${file} exports what its Node module exports`, async () => {
      const browser = await import(path.join(src, file));
      const node = await import(path.join(src, file.replace('.browser.ts', '.ts')));
      expect(Object.keys(browser).sort()).toEqual(Object.keys(node).sort());
    });
  }

  it('file functions reject with a message that names the call and what to do instead', async () => {
    const files = await import('./model-files.browser.js');
    const images = await import('./image-files.browser.js');
    const checkpoints = await import('./training/checkpoint.browser.js');
    await expect(files.saveJSON('out/a.json', {})).rejects.toThrow("saveJSON('out/a.json') needs Node");
    await expect(images.writePng('a.png', tf.zeros([2, 2, 1]) as tf.Tensor3D)).rejects.toThrow('tf.browser.toPixels');
    expect(() => images.encodePngBytes({ data: new Uint8Array(4), width: 2, height: 2, channels: 1 })).toThrow('encodePngBytes needs Node');
    await expect(checkpoints.latestCheckpoint('ckpt')).rejects.toThrow('train without checkpointDir');
    expect(checkpoints.checkpointName(12)).toBe('step-00000012');
  });

  it('saveModel refuses a directory and loadModel names the URL it could not load', async () => {
    const files = await import('./model-files.browser.js');
    const model = tf.sequential({ layers: [tf.layers.dense({ inputShape: [2], units: 1 })] });
    await expect(files.saveModel(model, 'models/g')).rejects.toThrow("saveModel('models/g') needs Node");
    // a directory gets /model.json appended; tf.io URLs are used as given
    await expect(files.loadModel('http://127.0.0.1:9/nowhere/g')).rejects.toThrow('loadModel: http://127.0.0.1:9/nowhere/g/model.json');
    model.dispose();
  });
});
