/**
 * The package a user installs: `npm pack`, install the tarball into an empty
 * project, and use it there with no TypeScript at run time: the bin, the
 * import with types, and a real run against the embedded emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
let dir: string;
let project: string;
let installOutput: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'gb-pack-'));
  project = join(dir, 'app');
  // pack runs `prepack`, which builds dist/ from the sources under test.
  execFileSync('npm', ['pack', '--pack-destination', dir, '--silent'], { cwd: root, stdio: 'pipe' });
  const tarball = readdirSync(dir).find((f) => f.endsWith('.tgz'))!;
  execFileSync('mkdir', ['-p', project]);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }));
  const install = spawnSync('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', join(dir, tarball)], { cwd: project, encoding: 'utf8' });
  installOutput = install.stdout + install.stderr;
  expect(install.status, installOutput).toBe(0);
}, 300_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('the installed package', () => {
  it('ships dist/ and no TypeScript sources', () => {
    const pkgDir = join(project, 'node_modules', 'gemini-batch-stream');
    const files = readdirSync(pkgDir);
    expect(files).toContain('dist');
    expect(files).not.toContain('src');
    expect(readdirSync(join(pkgDir, 'dist'))).toContain('index.d.ts');
  });

  it('installs with no warning (no install scripts) and ships LICENSE, no source maps', () => {
    expect(installOutput).not.toMatch(/warn/i);
    const pkgDir = join(project, 'node_modules', 'gemini-batch-stream');
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License/);
    const pkg = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { repository?: { url: string }; license: string; scripts: Record<string, string> };
    expect(pkg.repository?.url).toContain('github.com/gemini-batch-stream/gemini-batch-stream');
    expect(pkg.license).toBe('MIT');
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(pkg.scripts[s], s).toBeUndefined();
    const files = readdirSync(join(pkgDir, 'dist'), { recursive: true }) as string[];
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
  });

  it("require() loads it where Node can require ES modules, and says in one sentence what to do where it cannot", () => {
    const ok = spawnSync('node', ['-e', "const m = require('gemini-batch-stream'); const e = require('gemini-batch-stream/emulator'); console.log(typeof m.geminiBatch, typeof e.startEmulator)"], { cwd: project, encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.stdout.trim()).toBe('function function');
    // Node 20.18 and 22.0-22.11 cannot; --no-experimental-require-module makes this Node behave as they do.
    const old = spawnSync('node', ['--no-experimental-require-module', '-e', "try { require('gemini-batch-stream') } catch (e) { console.log(e.message) }"], { cwd: project, encoding: 'utf8' });
    const message = old.stdout.trim();
    expect(message.split('\n')).toHaveLength(1);
    expect(message).toMatch(/^gemini-batch-stream is an ES module: use `import \{ geminiBatch \} from 'gemini-batch-stream'`/);
  });

  it('imports with types', () => {
    writeFileSync(
      join(project, 'use.ts'),
      [
        "import { geminiBatch, type KeyedResult, type GeminiBatchOptions } from 'gemini-batch-stream';",
        "import { startEmulator } from 'gemini-batch-stream/emulator';",
        "const opts: GeminiBatchOptions = { model: 'gemini-2.5-flash' };",
        'const r: KeyedResult = { key: "a", error: { code: 1, message: "m", status: "S" } };',
        "const text = (x: KeyedResult): string | undefined => ('response' in x ? x.response.candidates?.[0]?.content?.parts?.[0]?.text : undefined);",
        'export { geminiBatch, startEmulator, opts, r, text };',
      ].join('\n'),
    );
    const tsc = join(root, 'node_modules', '.bin', 'tsc');
    const out = spawnSync(tsc, ['--noEmit', '--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--target', 'es2022', '--types', 'node', '--typeRoots', join(root, 'node_modules', '@types'), 'use.ts'], { cwd: project, encoding: 'utf8' });
    expect(out.stdout + out.stderr).toBe('');
    expect(out.status).toBe(0);
    const js = spawnSync('node', ['--input-type=module', '-e', "const m = await import('gemini-batch-stream'); console.log(typeof m.geminiBatch, typeof m.sizeChunker)"], { cwd: project, encoding: 'utf8' });
    expect(js.stdout.trim()).toBe('function function');
  }, 180_000);

  it('runs the gemini-batch bin against the embedded emulator', () => {
    const lines = Array.from({ length: 25 }, (_, i) => JSON.stringify({ key: `p${i}`, request: { contents: [{ role: 'user', parts: [{ text: `hello ${i}` }] }] } }));
    writeFileSync(join(project, 'in.jsonl'), lines.join('\n') + '\n');
    const env = { ...process.env, GEMINI_API_KEY: '', GOOGLE_API_KEY: '', GOOGLE_GEMINI_BASE_URL: '', CI: '1' };
    const help = spawnSync('npx', ['--no', 'gemini-batch', '--help'], { cwd: project, encoding: 'utf8', env });
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/run/);
    const run = spawnSync('npx', ['--no', 'gemini-batch', 'run', 'in.jsonl', '--model', 'gemini-2.5-flash', '--output', 'out.jsonl', '--emulator', '--quiet'], { cwd: project, encoding: 'utf8', env });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    const out = readFileSync(join(project, 'out.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { key: string; response?: unknown });
    expect(out.map((r) => r.key)).toEqual(lines.map((_, i) => `p${i}`));
    expect(out.every((r) => r.response)).toBe(true);
  });
});
