#!/usr/bin/env node
// The published entry point: runs the compiled CLI from dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
//
// No V8 flags: the candidates were measured on the CLI (bench/README.md, "V8 flags") and
// none paid at 200 MB. --liftoff-only (settable here with v8.setFlagsFromString) removes
// a ~38 MB spike in isolation and helped at 50-100 MB, but raised the 200 MB peak by
// ~17 MB; --max-semi-space-size=8 helps, but V8 reads it only at start-up, which would
// take `#!/usr/bin/env -S node ...` (BusyBox env, in Alpine images, rejects -S) or a
// re-exec (a second process): users who want it can set NODE_OPTIONS.
import { main } from '../dist/cli/main.js';

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
