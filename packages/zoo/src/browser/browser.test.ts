/**
 * The library in a browser: the sampling fixture is bundled with esbuild for the browser (the
 * `browser` export conditions, no Node built-ins allowed) and run in a context that has only
 * web globals (no process, require or Buffer), fetching the zoo's model files from a real
 * HTTP server.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vm from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyCaption, loadCaptioner } from '@ppgn/condition-captioner';
import * as tf from '@tensorflow/tfjs';
import { type BrowserRun, testScene } from './sampling.fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const models = path.resolve(here, '../../models');
const wasmDist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
const hasModels = ['mnist/generator-joint/model.json', 'shapes/captioner/captioner.json'].every((f) => existsSync(path.join(models, f)));

let server: Server;
let base = '';
beforeAll(async () => {
  // a static file server over the zoo's models and the wasm binaries, as a web page's host would be
  server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const root = url.startsWith('/wasm/') ? wasmDist : models;
    const file = path.join(root, url.replace(/^\/wasm\//, '/'));
    if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404).end();
      return;
    }
    const type = file.endsWith('.json') ? 'application/json' : file.endsWith('.wasm') ? 'application/wasm' : 'application/octet-stream';
    res.writeHead(200, { 'content-type': type });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

/** A global object with what a web worker has and nothing of Node's. */
function webWorkerGlobals(): vm.Context {
  class WorkerGlobalScope {}
  const g: Record<string, unknown> = {
    WorkerGlobalScope,
    console,
    performance,
    setTimeout,
    clearTimeout,
    setInterval,
    clearInterval,
    queueMicrotask,
    TextEncoder,
    TextDecoder,
    URL,
    fetch,
    Request,
    Response,
    Headers,
    AbortController,
    AbortSignal,
    Blob,
    WebAssembly: (globalThis as Record<string, unknown>).WebAssembly,
  };
  g.self = g;
  const context = vm.createContext(g);
  // fetch through the context's own JSON and ArrayBuffer: objects made by this realm's fetch
  // would fail instanceof checks there (in a browser there is one realm)
  vm.runInContext(
    `const outerFetch = fetch;
    self.fetch = async (input, init) => {
      const r = await outerFetch(String(input), init);
      const bytes = new Uint8Array(await r.arrayBuffer());
      // a real Response (wasm compiles from its stream), read through this realm's JSON and ArrayBuffer
      const response = new Response(bytes, { status: r.status, statusText: r.statusText, headers: r.headers });
      response.arrayBuffer = async () => new Uint8Array(bytes).buffer;
      response.text = async () => new TextDecoder().decode(bytes);
      response.json = async () => JSON.parse(new TextDecoder().decode(bytes));
      return response;
    };`,
    context,
  );
  return context;
}

/** The fixture as a page script: one IIFE exposing `ppgnBrowser`, resolved with the browser conditions. */
function bundleFixture() {
  return build({
    entryPoints: [path.join(here, 'sampling.fixture.ts')],
    bundle: true,
    platform: 'browser',
    format: 'iife',
    globalName: 'ppgnBrowser',
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
}

describe('the library in a browser', () => {
  it('bundles for the browser without Node built-ins, the core package through its browser build', async () => {
    const out = await bundleFixture();
    expect(out.errors).toEqual([]);
    const inputs = Object.keys(out.metafile.inputs);
    expect(inputs.some((f) => f.includes('core/dist/browser/index.js'))).toBe(true);
    expect(inputs.filter((f) => f.startsWith('node:') || /(^|\/)(fs|path|crypto|zlib|module)$/.test(f))).toEqual([]);
  });

  it.skipIf(!hasModels)('samples a class and captions a scene from zoo models fetched over HTTP, with web globals only', { timeout: 120_000 }, async () => {
    const out = await bundleFixture();
    const context = webWorkerGlobals();
    vm.runInContext(out.outputFiles[0]!.text, context);
    const steps = 12;
    const result = (await vm.runInContext(`ppgnBrowser.run(${JSON.stringify(base)}, ${steps})`, context)) as BrowserRun;
    expect(result.hasProcess).toBe(false);
    expect(result.backend).toBe('wasm');
    expect(result.imageShape).toEqual([4, 28, 28, 1]);
    expect(result.finite).toBe(true);
    // the chains climb p(3 | x)
    expect(result.endProb).toBeGreaterThan(result.startProb + 0.2);
    expect(result.gifHeader).toBe('GIF89a');
    expect(result.gridShape[2]).toBe(1);
    expect(result.saveError).toContain("saveModel('models/mnist/classifier') needs Node");
    expect(result.leaked).toBe(0);
    // the same caption as the Node build gives from the files on disk
    const captioner = await loadCaptioner(path.join(models, 'shapes/captioner'));
    const scene = testScene();
    const inNode = greedyCaption(captioner, scene)[0]!.caption;
    tf.dispose(scene);
    captioner.dispose();
    expect(inNode.split(' ').length).toBeGreaterThan(1);
    expect(result.caption).toBe(inNode);
  });
});
