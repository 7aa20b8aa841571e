#!/usr/bin/env node
// The published entry point: runs the CLI bundled into dist/cli-bundle/ (built by
// `npm run build`, which `npm ci` runs through the `prepare` script; scripts/bundle-cli.mjs
// says why it is bundled).
//
// V8 is tuned for a small live set, a fast stream of garbage and an HTTP parser that needs
// no optimising compiler: 4 MiB semi-spaces, an old generation collected at twice its live
// size, --liftoff-only, a young GC every 8 MiB of HTTP body (src/cli/v8-tuning.ts says why
// and how; bench/README.md "V8 flags" has the figures). A user's own flags (NODE_OPTIONS) win.
import { tuneV8 } from '../dist/cli-bundle/v8-tuning.js';
import { main } from '../dist/cli-bundle/main.js';

tuneV8();
main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
