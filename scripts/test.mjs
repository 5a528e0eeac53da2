// The whole check: lint, typecheck, build, every package's tests, one closing summary line.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';

for (const pkg of readdirSync('packages')) rmSync(join('packages', pkg, 'test-results.json'), { force: true });
if (existsSync('examples')) rmSync(join('examples', 'test-results.json'), { force: true });

function run(cmd, args) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { stdio: 'inherit', shell: false });
  return r.status ?? 1;
}

const turbo = join('node_modules', '.bin', 'turbo');
const biome = join('node_modules', '.bin', 'biome');
let rc = run(biome, ['lint', 'packages', 'examples']);
if (rc === 0) rc = run(turbo, ['run', 'typecheck', 'build', '--output-logs=errors-only']);
if (rc === 0) rc = run(turbo, ['run', 'test', '--concurrency=2', '--continue', ...process.argv.slice(2)]);
const summary = run(process.execPath, ['scripts/test-summary.mjs']);
process.exit(rc !== 0 ? rc : summary);
