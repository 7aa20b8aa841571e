#!/usr/bin/env node
// The published entry point: runs the CLI bundled into dist/cli-bundle/ (built by
// `npm run build`, which `npm ci` runs through the `prepare` script; scripts/bundle-cli.mjs
// says why it is bundled).
//
// The heap is tuned for a small live set and a fast stream of garbage: 4 MiB semi-spaces and
// an old generation collected at twice its live size (src/cli/heap-tuning.ts says why and
// how; bench/README.md "V8 flags" has the figures). A user's own flags (NODE_OPTIONS) win.
import { tuneHeap } from '../dist/cli-bundle/heap-tuning.js';
import { main } from '../dist/cli-bundle/main.js';

tuneHeap();
main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
