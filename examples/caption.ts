/**
 * Sample images for a caption with the shapes zoo entry: the captioner's log p(caption | x)
 * steers the joint scene generator with the prior E(G(h)) - h (Joint PPGN-h, the entry's
 * caption variant), and the attribute evaluator checks every sample against the caption.
 *
 *   pnpm --filter @ppgn/examples caption ["a red circle above a blue square"]
 *
 * Writes out/caption.png (each sample labelled ok when the evaluator agrees with every
 * attribute of the caption).
 */
import { mkdir } from 'node:fs/promises';
import { initBackend } from '@ppgn/backend';
import { writeGrid } from '@ppgn/core';
import { evaluateCaption, loadZoo, sampleCaption } from '@ppgn/zoo';

await initBackend();
const caption = process.argv[2] ?? 'a red circle above a blue square';
const zoo = await loadZoo('shapes');
const result = await sampleCaption(zoo, { caption, n: 8, seed: 1 });
const { perImage, rates } = evaluateCaption(zoo, caption, result.images);
await mkdir('out', { recursive: true });
await writeGrid('out/caption.png', result.images, { scale: 4, labels: perImage.map((a) => (a.all ? 'ok' : 'no')) });
console.log(`wrote out/caption.png: "${caption}", ${(rates.all * 100).toFixed(0)}% of samples agree with every attribute`);
result.dispose();
zoo.dispose();
