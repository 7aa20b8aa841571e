#!/usr/bin/env node
// The published entry point: a plain node script (no shell, no runtime V8 flags, so it
// runs the same in distroless images, under npm's Windows shim and on every Node line).
// It runs the CLI bundled into dist/cli-bundle/ by `npm run build` (scripts/bundle-cli.mjs
// says why it is bundled). Memory settings a user wants go in NODE_OPTIONS (README, "Performance").
import { main } from '../dist/cli-bundle/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
