/**
 * The library in a web page: bundles browser/page.ts for the browser and serves it with the
 * mnist zoo models and tfjs's wasm binaries.
 *
 *   pnpm --filter @ppgn/examples browser            # then open the printed address
 *   pnpm --filter @ppgn/examples browser --check    # headless Chromium runs the page once;
 *                                                   # writes out/browser.png, out/browser-lapgan.png
 *
 * Flags: --port N (default 8080), --check.
 */
import { spawn } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { entryDir } from '@ppgn/zoo';
import { build } from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const check = args.includes('--check');
const portFlag = args.indexOf('--port');
const port = portFlag >= 0 ? Number(args[portFlag + 1]) : check ? 0 : 8080;
if (!Number.isInteger(port) || port < 0) throw new Error(`--port: expected a port number, got '${args[portFlag + 1]}'`);

const models = path.dirname(entryDir('mnist'));
const wasmDist = path.dirname(createRequire(import.meta.url).resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
const bundle = await build({
  entryPoints: [path.join(here, 'browser/page.ts')],
  bundle: true,
  platform: 'browser',
  format: 'esm',
  target: 'es2022',
  write: false,
  logLevel: 'warning',
});
const script = bundle.outputFiles[0]!.text;
const page = readFileSync(path.join(here, 'browser/index.html'), 'utf8');
const TYPES: Record<string, string> = { '.json': 'application/json', '.wasm': 'application/wasm', '.bin': 'application/octet-stream' };

let onCheck: ((body: string) => void) | undefined;
const server = createServer((req, res) => {
  // cross-origin isolation lets the page use SharedArrayBuffer: tfjs then runs wasm on every core
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Embedder-Policy', 'require-corp');
  const url = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
  if (url === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
  if (url === '/app.js') return void res.writeHead(200, { 'content-type': 'text/javascript' }).end(script);
  if (url === '/check' && req.method === 'POST') {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      res.end();
      onCheck?.(body);
    });
    return;
  }
  const [root, rest] = url.startsWith('/wasm/') ? [wasmDist, url.slice(5)] : url.startsWith('/models/') ? [models, url.slice(7)] : ['', ''];
  const file = path.join(root, rest);
  if (!root || !file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) return void res.writeHead(404).end();
  res.writeHead(200, { 'content-type': TYPES[path.extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
const address = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;

if (!check) {
  console.log(`serving the demo at ${address} (Ctrl-C stops)`);
} else {
  const chrome = ['chromium', 'chromium-browser', 'google-chrome']
    .map((name) => (process.env.PATH ?? '').split(path.delimiter).map((d) => path.join(d, name)).find(existsSync))
    .find(Boolean);
  if (!chrome) throw new Error('--check needs chromium, chromium-browser or google-chrome on PATH');
  const profile = mkdtempSync(path.join(tmpdir(), 'ppgn-demo-'));
  const answer = new Promise<string>((resolve) => {
    onCheck = resolve;
  });
  const browser = spawn(chrome, ['--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', `--user-data-dir=${profile}`, `${address}?check`], {
    stdio: 'ignore',
    detached: true,
  });
  const ended = new Promise<void>((resolve) => browser.on('exit', () => resolve()));
  const timeout = setTimeout(() => process.kill(-browser.pid!, 'SIGKILL'), 300_000);
  const body = await Promise.race([answer, ended.then(() => '{"error":"the browser exited before the page answered"}')]);
  clearTimeout(timeout);
  try {
    process.kill(-browser.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
  await ended;
  rmSync(profile, { recursive: true, force: true, maxRetries: 10 });
  server.close();
  const result = JSON.parse(body) as { error?: string; png?: string; pyramidPng?: string; probs?: number[]; ms?: number; status?: string };
  if (result.error) throw new Error(`the page failed: ${result.error}`);
  mkdirSync('out', { recursive: true });
  const png = (dataUrl: string) => Buffer.from(dataUrl.replace(/^data:image\/png;base64,/, ''), 'base64');
  writeFileSync('out/browser.png', png(result.png!));
  writeFileSync('out/browser-lapgan.png', png(result.pyramidPng!));
  console.log(result.status);
  console.log("wrote out/browser.png and out/browser-lapgan.png (the page's canvases, drawn by headless Chromium)");
}
