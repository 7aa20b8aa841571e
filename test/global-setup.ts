/**
 * The suite runs with TMPDIR pointing at a directory of its own, removed at
 * the end: the test processes and every CLI or emulator child they spawn
 * (they inherit the environment) put their temp files there, so a run leaves
 * nothing behind in the machine's temp dir, even when a test kills a child
 * with -9 before it could clean up. Tests that check cleanup itself (spool
 * dirs, work dirs) still assert it in their own directories.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..');

/** Newest modification time of the files under dir (ms). */
function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) t = Math.max(t, statSync(join(e.parentPath, e.name)).mtimeMs);
  }
  return t;
}

/**
 * The tests of the published bin run dist/ (`npm run build`). Nothing builds
 * it on install (no `prepare` script: npm warns about install scripts), so it
 * is built here when missing or older than the sources it comes from.
 */
function buildIfStale(): void {
  const bundle = join(ROOT, 'dist/cli-bundle/main.js');
  const sources = Math.max(newest(join(ROOT, 'src')), newest(join(ROOT, 'scripts')), statSync(join(ROOT, 'tsconfig.build.json')).mtimeMs);
  if (existsSync(bundle) && statSync(bundle).mtimeMs >= sources) return;
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
}

export default function setup(): () => void {
  buildIfStale();
  const dir = mkdtempSync(join(tmpdir(), 'gemini-batch-stream-tests-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
