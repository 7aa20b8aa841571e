/**
 * The suite runs with TMPDIR pointing at a directory of its own, removed at
 * the end: the test processes and every CLI or emulator child they spawn
 * (they inherit the environment) put their temp files there, so a run leaves
 * nothing behind in the machine's temp dir, even when a test kills a child
 * with -9 before it could clean up. Tests that check cleanup itself (spool
 * dirs, work dirs) still assert it in their own directories.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export default function setup(): () => void {
  const dir = mkdtempSync(join(tmpdir(), 'gemini-batch-stream-tests-'));
  const previous = process.env['TMPDIR'];
  process.env['TMPDIR'] = dir;
  return () => {
    if (previous === undefined) delete process.env['TMPDIR'];
    else process.env['TMPDIR'] = previous;
    rmSync(dir, { recursive: true, force: true });
  };
}
