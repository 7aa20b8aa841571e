#!/usr/bin/env node
// The published entry point: runs the compiled CLI from dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
//
// The young generation is capped at 4 MiB semi-spaces (dist/cli/young-generation.js says
// why and how; bench/README.md "V8 flags" has the figures). A user's own
// --max-semi-space-size (e.g. in NODE_OPTIONS) wins.
import { capYoungGeneration } from '../dist/cli/young-generation.js';
import { main } from '../dist/cli/main.js';

capYoungGeneration();
main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
