#!/usr/bin/env node
// The published entry point: runs the compiled CLI from dist/ (built by `npm run build`,
// which `npm ci` runs through the `prepare` script).
//
// V8 flags, set before anything else is loaded; each one measured in bench/README.md
// ("V8 flags"), and only those that paid are here.
// --liftoff-only: undici parses HTTP with a WebAssembly build of llhttp. V8 compiles it
//   with Liftoff, then again with TurboFan in the background about 150 ms into the first
//   request: a ~38 MB RSS spike (120 -> 81 MB peak for 200 requests in isolation) for a
//   parser speed-up this CLI does not need, since bodies are streamed, not parsed.
// Only flags that V8 reads after start-up can be set here. The young generation's maximum
// (--max-semi-space-size) cannot: it would take `#!/usr/bin/env -S node ...`, which
// BusyBox env (Alpine images) does not understand.
import { setFlagsFromString } from 'node:v8';

setFlagsFromString('--liftoff-only');

const { main } = await import('../dist/cli/main.js');

main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
