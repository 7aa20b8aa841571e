/**
 * The library path, as the README's quickstart embeds it: objects in, objects
 * out. `split2(JSON.parse)` turns each request line into a record, the
 * records go through `geminiBatch({model, ...})`, and each KeyedResult is
 * `JSON.stringify`-ed to a line of OUTPUT, all in one `pipeline`. It runs in
 * its own process, measured from the outside like the CLI (GNU time: wall,
 * CPU and peak RSS of the whole process, start-up and the library's import
 * included). Nothing here tunes the process: what it pays is the code's.
 *   node bench/library.child.js INPUT OUTPUT BASE_URL POLL_MS STATE_DIR [BACKEND]
 *
 * BACKEND `vertex`: `geminiBatch({backend: 'vertex', vertex: {project, location,
 * bucket}})`, the endpoints and the token from the environment the bench sets
 * (GOOGLE_VERTEX_BASE_URL, STORAGE_EMULATOR_HOST, GOOGLE_OAUTH_ACCESS_TOKEN),
 * as a user pointing the library at the emulator would.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import split2 from 'split2';
import { geminiBatch, type KeyedResult } from '../src/index.js';

const [, , input, output, baseUrl, pollMs = '100', stateDir, backend = 'gemini'] = process.argv;
if (!input || !output || !baseUrl || !stateDir) throw new Error('usage: library.child.js INPUT OUTPUT BASE_URL POLL_MS STATE_DIR [BACKEND]');

const poll = Number(pollMs);
// What the CLI's --poll-interval sets (src/cli/run-batch.ts), so both paths poll alike.
const pollInterval = { initialMs: poll, maxMs: Math.max(poll, 60_000) };
const batch =
  backend === 'vertex'
    ? geminiBatch({
        model: 'gemini-2.5-flash',
        backend: 'vertex',
        vertex: { project: 'bench', location: 'us-central1', bucket: 'gs://bench/runs' },
        stateDir,
        pollInterval,
      })
    : geminiBatch({ model: 'gemini-2.5-flash', apiKey: 'bench', baseUrl, stateDir, pollInterval });

await pipeline(
  createReadStream(input),
  split2(JSON.parse),
  batch,
  new Transform({
    objectMode: true,
    transform(r: KeyedResult, _enc, cb) {
      cb(null, JSON.stringify(r) + '\n');
    },
  }),
  createWriteStream(output),
);
