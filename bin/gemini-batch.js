#!/bin/sh
':' //; export MALLOC_MMAP_THRESHOLD_="${MALLOC_MMAP_THRESHOLD_:-65536}"; exec node "$0" "$@"
// The line above is for sh, which runs this file when it is started as a program
// (npm's bin link, the shebang): it sets one glibc setting and replaces itself with
// node on this same file (same process, same pid, so signals and exit codes are
// node's). To node it is a string and a comment. `node bin/gemini-batch.js` works
// the same without the setting.
//
// MALLOC_MMAP_THRESHOLD_: glibc serves the 64 KiB socket and file read buffers of
// a run from its heap, which it hands back to the OS only from the top; over a
// long run that heap's resident size crept up 7-10 MB. Served by mmap, each read
// buffer goes back to the OS when freed: a 5 GB run peaked at 95 MB instead of
// 103-106 MB for the same CPU (bench/README, "V8 flags, glibc and start-up",
// setting 8). A user's own value wins; other C libraries (musl, macOS) ignore it.
//
// The published entry point runs the CLI bundled into dist/cli-bundle/ (built by
// `npm run build`, which `npm ci` runs through the `prepare` script; scripts/bundle-cli.mjs
// says why it is bundled).
//
// V8 is tuned for a small live set, a fast stream of garbage and an HTTP parser that needs
// no optimising compiler: 4 MiB semi-spaces, an old generation collected at twice its live
// size, --liftoff-only, a young GC every 8 MiB of bytes moved and a full one every 64 MiB
// (src/cli/v8-tuning.ts says why and how; bench/README.md "V8 flags" has the figures).
// A user's own flags (NODE_OPTIONS) win.
import { tuneV8 } from '../dist/cli-bundle/v8-tuning.js';
import { main } from '../dist/cli-bundle/main.js';

tuneV8();
main(process.argv).then(
  (code) => { process.exitCode = code; },
  (err) => { console.error(err instanceof Error ? err.message : String(err)); process.exitCode = 1; },
);
