import * as tf from '@tensorflow/tfjs';
import { initBackend } from './src/init.js';
import { conv2dBackpropInput, type BackpropInputMethod } from './src/kernels/conv2d-backprop-input.js';
const threads = Number(process.env.T ?? 1);
await initBackend({ backend: 'wasm', verbose: false, wasmThreads: threads });
const cases: [string, number[], number[], number[], number][] = [
  ['G1', [16, 4, 4, 128], [4, 4, 64, 128], [16, 8, 8, 64], 2],
  ['G2', [16, 8, 8, 64], [4, 4, 32, 64], [16, 16, 16, 32], 2],
  ['G3', [16, 16, 16, 32], [4, 4, 3, 32], [16, 32, 32, 3], 2],
  ['C2', [16, 16, 16, 64], [3, 3, 32, 64], [16, 32, 32, 32], 2],
  ['C3', [16, 8, 8, 128], [3, 3, 64, 128], [16, 16, 16, 64], 2],
  ['C1', [16, 32, 32, 32], [3, 3, 3, 32], [16, 32, 32, 3], 1],
];
const methods: BackpropInputMethod[] = ['auto', 'phase-convs', 'phases', 'zero-insert'];
let line = `T=${threads}`;
for (const [name, dyS, fS, xS, s] of cases) {
  const dy = tf.randomNormal(dyS) as tf.Tensor4D; const f = tf.randomNormal(fS) as tf.Tensor4D;
  const parts: string[] = [];
  for (const m of methods) {
    if (s === 1 && m !== 'auto') continue;
    tf.unregisterKernel('Conv2DBackpropInput', 'wasm');
    tf.registerKernel({ kernelName: 'Conv2DBackpropInput', backendName: 'wasm', kernelFunc: ((a: never) => conv2dBackpropInput(a, m)) as never });
    const run = () => { const y = tf.conv2dTranspose(dy, f, xS as [number, number, number, number], s, 'same'); y.dataSync(); y.dispose(); };
    for (let i = 0; i < 5; i++) run();
    const ts: number[] = [];
    for (let i = 0; i < 30; i++) { const t0 = performance.now(); run(); ts.push(performance.now() - t0); }
    ts.sort((a, b) => a - b);
    parts.push(`${m}=${ts[15]!.toFixed(2)}`);
  }
  line += `\n ${name} ${parts.join(' ')}`;
}
console.log(line);
