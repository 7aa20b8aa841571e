/**
 * The examples a new user runs first, as they run them: `npm start` (tsx on
 * examples/quickstart.ts, with the condition that maps the package's own
 * name to src/), here with no API key so it uses the embedded emulator.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { cliEnv, ROOT } from './cli.helpers.js';

/**
 * The examples import the package by name, as a user's copy would; the
 * `gemini-batch-stream:source` condition resolves that to src/ (no build).
 */
const SOURCE = '--conditions=gemini-batch-stream:source';

/** `npm start` itself, or for the other examples node with the tsx loader and the source condition. */
function run(script: string, viaNpmStart = false): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const path = join(ROOT, 'examples', script);
  const [cmd, args] = viaNpmStart ? ['npm', ['start', '--silent']] : [process.execPath, [SOURCE, '--import', 'tsx', path]];
  const child = spawn(cmd, args, { cwd: ROOT, env: cliEnv() });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('examples', () => {
  it('import the package by name, never ../src/, and the name resolves to the sources without a build', () => {
    for (const f of readdirSync(join(ROOT, 'examples')).filter((n) => n.endsWith('.ts'))) {
      const text = readFileSync(join(ROOT, 'examples', f), 'utf8');
      expect(text, f).not.toMatch(/from '\.\.\/src\//);
    }
    expect(readFileSync(join(ROOT, 'examples', 'quickstart.ts'), 'utf8')).toContain("from 'gemini-batch-stream'");
    const r = spawnSync(process.execPath, [SOURCE, '--input-type=module', '-e', "console.log(import.meta.resolve('gemini-batch-stream'), import.meta.resolve('gemini-batch-stream/emulator'))"], { cwd: ROOT, encoding: 'utf8' });
    expect(r.stdout.trim().split(' ')).toEqual([pathToFileURL(join(ROOT, 'src/index.ts')).href, pathToFileURL(join(ROOT, 'src/emulator/index.ts')).href]);
  });


  it('quickstart (npm start) runs against the embedded emulator and writes its results', async () => {
    const out = join(ROOT, 'examples', 'out', 'quickstart.results.jsonl');
    rmSync(out, { force: true });
    const started = Date.now();
    const r = await run('quickstart.ts', true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(Date.now() - started).toBeLessThan(30_000);
    expect(r.stdout).toContain('embedded emulator');
    expect(r.stdout).toMatch(/done: 3000 results \(3000 ok, 0 errors\)/);
    expect(existsSync(out)).toBe(true);
    const keys = readFileSync(out, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { key: string }).key);
    expect(keys).toEqual(Array.from({ length: 3000 }, (_, i) => `q${i}`));
  });

  it('the ETL, embeddings and unbounded examples run to completion', async () => {
    const [etl, embeddings, unbounded] = await Promise.all([run('etl.ts'), run('embeddings.ts'), run('unbounded.ts')]);
    expect(etl.stderr).toBe('');
    expect(etl.stdout).toMatch(/400 rows enriched \(0 without a tagline\)/);
    expect(embeddings.stderr).toBe('');
    expect(embeddings.stdout).toMatch(/8 vectors of 256 dimensions/);
    expect(unbounded.stderr).toBe('');
    expect(unbounded.stdout).toMatch(/unbounded: \d+ results/);
    expect([etl.code, embeddings.code, unbounded.code]).toEqual([0, 0, 0]);
  });
});
