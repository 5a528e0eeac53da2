/**
 * The library in a browser: the sampling fixture is bundled with esbuild for the browser (the
 * `browser` export conditions, no Node built-ins allowed) and run twice against a real HTTP
 * server holding the zoo's model files and tfjs's wasm binaries: in a context that has only web
 * globals (no process, require or Buffer), and in headless Chromium when one is installed, on
 * wasm and on WebGL (software-rendered there, so that run takes about 20 s).
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as vm from 'node:vm';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { greedyCaption, loadCaptioner } from '@ppgn/condition-captioner';
import * as tf from '@tensorflow/tfjs';
import { type BrowserRun, pyramidSamples, testScene } from './sampling.fixture.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const models = path.resolve(here, '../../models');
const wasmDist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
const hasModels = ['mnist/generator-joint/model.json', 'shapes/captioner/captioner.json', 'mnist/lapgan/pyramid.json'].every((f) =>
  existsSync(path.join(models, f)),
);

/** Chromium or Chrome on PATH (or CHROME_PATH), for the real-browser run. */
function findChrome(): string | undefined {
  const names = [process.env.CHROME_PATH, 'chromium', 'chromium-browser', 'google-chrome'].filter((n): n is string => !!n);
  for (const name of names) {
    if (path.isAbsolute(name) && existsSync(name)) return name;
    const dir = (process.env.PATH ?? '').split(path.delimiter).find((d) => existsSync(path.join(d, name)));
    if (dir) return path.join(dir, name);
  }
  return undefined;
}
const chrome = findChrome();

const STEPS = 12;
/** The page: runs the fixture and posts what it returned (or its error) back to the server. */
const PAGE = `<!doctype html><meta charset="utf-8"><script src="/app.js"></script><script>
ppgnBrowser.run(location.origin, ${STEPS}, new URLSearchParams(location.search).get('backend') || 'wasm').then(
  (result) => fetch('/result', { method: 'POST', body: JSON.stringify({ result }) }),
  (err) => fetch('/result', { method: 'POST', body: JSON.stringify({ error: String((err && err.stack) || err) }) }));
</script>`;

let server: Server;
let base = '';
let pageScript = '';
let onResult: ((body: string) => void) | undefined;
beforeAll(async () => {
  pageScript = (await bundleFixture()).outputFiles[0]!.text;
  // a static file server over the zoo's models and the wasm binaries, as a web page's host would be
  server = createServer((req, res) => {
    const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    if (url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE);
    if (url === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(pageScript);
    if (url === '/result' && req.method === 'POST') {
      let body = '';
      req.on('data', (chunk) => {
        body += chunk;
      });
      req.on('end', () => {
        res.end();
        onResult?.(body);
      });
      return;
    }
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

  /** What both runs must show; the caption must be the one the Node build gives from the files on disk. */
  async function expectGoodRun(result: BrowserRun, backend: 'wasm' | 'webgl' = 'wasm'): Promise<void> {
    expect(result.hasProcess).toBe(false);
    expect(result.backend).toBe(backend);
    expect(result.imageShape).toEqual([4, 28, 28, 1]);
    expect(result.finite).toBe(true);
    // the chains climb p(3 | x)
    expect(result.endProb).toBeGreaterThan(result.startProb + 0.2);
    expect(result.gifHeader).toBe('GIF89a');
    expect(result.gridShape[2]).toBe(1);
    expect(result.saveError).toContain("saveModel('models/mnist/classifier') needs Node");
    expect(result.leaked).toBe(0);
    // the sampler's steps take no weight gradients there either (layer calls routed, see withLazyLayerGradients)
    expect(result.filterGradients).toBe(0);
    const captioner = await loadCaptioner(path.join(models, 'shapes/captioner'));
    const scene = testScene();
    const inNode = greedyCaption(captioner, scene)[0]!.caption;
    tf.dispose(scene);
    captioner.dispose();
    expect(inNode.split(' ').length).toBeGreaterThan(1);
    expect(result.caption).toBe(inNode);
    // the same LAPGAN samples as the Node build draws from the files on disk (wasm vs this thread's backend)
    const fromDisk = await pyramidSamples(path.join(models, 'mnist/lapgan'));
    expect(result.pyramid.shape).toEqual([4, 32, 32, 1]);
    expect(result.pyramid.shape).toEqual(fromDisk.shape);
    const worst = Math.max(...result.pyramid.values.map((v, i) => Math.abs(v - fromDisk.values[i]!)));
    expect(worst).toBeLessThan(1e-4);
    expect(Math.max(...fromDisk.values) - Math.min(...fromDisk.values)).toBeGreaterThan(0.5);
  }

  it.skipIf(!hasModels)('samples a class, captions a scene and draws LAPGAN digits from zoo models fetched over HTTP, with web globals only', { timeout: 120_000 }, async () => {
    const context = webWorkerGlobals();
    vm.runInContext(pageScript, context);
    await expectGoodRun((await vm.runInContext(`ppgnBrowser.run(${JSON.stringify(base)}, ${STEPS})`, context)) as BrowserRun);
  });

  /** Opens the page in headless Chromium (its own profile and process group) and returns what it posted. */
  async function inChromium(query: string): Promise<{ result?: BrowserRun; error?: string }> {
    const profile = mkdtempSync(path.join(tmpdir(), 'ppgn-chrome-'));
    const posted = new Promise<string>((resolve) => {
      onResult = resolve;
    });
    // --no-sandbox: CI runs as root, where Chromium's sandbox refuses to start; its own
    // process group, so that its helper processes end with it
    const browser = spawn(chrome!, ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, `${base}/${query}`], {
      stdio: 'ignore',
      detached: true,
    });
    const ended = new Promise<number | null>((resolve) => browser.on('exit', resolve));
    try {
      const exited = ended.then((code) => Promise.reject(new Error(`chromium exited with ${code} before the page answered`)));
      exited.catch(() => {}); // it also exits when killed below, after the answer
      return JSON.parse(await Promise.race([posted, exited])) as { result?: BrowserRun; error?: string };
    } finally {
      onResult = undefined;
      try {
        process.kill(-browser.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await ended;
      rmSync(profile, { recursive: true, force: true, maxRetries: 10 });
    }
  }

  const noChrome = chrome ? '' : ' (skipped: no chromium, chromium-browser or google-chrome on PATH, nor CHROME_PATH)';

  it.skipIf(!hasModels || !chrome)(`does the same in headless Chromium${noChrome}`, { timeout: 120_000 }, async () => {
    const body = await inChromium('');
    expect(body.error).toBeUndefined();
    await expectGoodRun(body.result!);
  });

  it.skipIf(!hasModels || !chrome)(`does the same on WebGL in headless Chromium${noChrome}`, { timeout: 120_000 }, async () => {
    const body = await inChromium('?backend=webgl');
    expect(body.error).toBeUndefined();
    await expectGoodRun(body.result!, 'webgl');
  });
});
