// Bundles the compiled CLI (dist/cli/*.js, from tsc) into dist/cli-bundle/, what the bin runs.
//
// Why: an ESM graph of ~150 small modules costs more to load than one file. Measured on
// this machine (bench/README.md, "Start-up"): loading the CLI took 66-70 MB RSS and ~100 ms
// as separate modules, 61 MB and ~65 ms bundled, and that RSS stays for the whole run.
// What is loaded only when used stays out of the main file: the emulator and the webhook
// receiver become chunks of their own (`splitting`), and undici, jose and standardwebhooks
// are loaded from node_modules. The library (dist/index.js) is not bundled: an application
// that imports it bundles, or not, as it likes.
//
// Usage: node scripts/bundle-cli.mjs [distDir]   (default: dist, next to this script)
import { build } from 'esbuild';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = resolve(process.argv[2] ?? join(root, 'dist'));

await build({
  entryPoints: [join(dist, 'cli/main.js')],
  outdir: join(dist, 'cli-bundle'),
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  // Dependencies loaded on first use keep their own files; the rest is bundled.
  // @node-rs/crc32 (the emulator's CRC32C) loads a native binary for the platform: it cannot be bundled.
  external: ['undici', 'undici/*', 'jose', 'standardwebhooks', '@google/genai', '@node-rs/crc32'],
  // Bundled CommonJS dependencies (commander, split2, stream-json) call require().
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module';\nconst require = __bundleRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning',
});
console.log(`bundled the CLI into ${join(dist, 'cli-bundle')}`);
