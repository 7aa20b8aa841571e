/**
 * Inline responses that come back without `metadata.key` (js-genai #1191,
 * python-genai #2008; disputed: other captures show the key).
 *
 * When NO item carries a key and there are exactly as many items as requests,
 * the documented order (responses in request order) is the only link left,
 * so item i answers request i: we write each line with the request's key and
 * say so in a job event. In any other case we never guess: keyed items are
 * kept, keyless ones are dropped, and every request left without a result
 * gets an error line naming the cause, so no record is silently
 * MISSING_RESULT and none is given another record's answer.
 */
import { createWriteStream, existsSync } from 'node:fs';
import { once } from 'node:events';
import { forEachLineAsync, SequentialLines } from '../../internal/io/lines.js';
import { readLineKey } from '../../internal/wire/wire-line.js';

/** Status of the error line a request gets when an inline answer cannot be matched to it. */
export const UNMATCHED_INLINE_STATUS = 'INLINE_RESPONSE_WITHOUT_KEY';

const NULL_KEY_HEAD = Buffer.from('{"key":null,');
const NEWLINE = Buffer.from('\n');

export interface InlineKeying {
  /** 'keys': every item had its key; 'position': matched by position; 'unmatched': keyless items dropped. */
  matched: 'keys' | 'position' | 'unmatched';
  /** Items in the inline output. */
  items: number;
  /** Items without a key of ours. */
  keyless: number;
  /** Requests given an error line because no keyed item answered them. */
  unmatchedRequests: number;
  /** One sentence for the job event, when anything but 'keys' happened. */
  detail?: string;
}

/**
 * Copy the inline results at `inlinePath` (lines as inline-results.ts writes
 * them) to `outPath` (appending), keyed. `spoolPath` holds the requests of
 * this batch, in the order they were sent.
 */
export async function keyInlineResults(inlinePath: string, spoolPath: string, outPath: string): Promise<InlineKeying> {
  // No inline array (or an empty one): nothing to copy; the demuxer reports every request as MISSING_RESULT.
  if (!existsSync(inlinePath)) return { matched: 'keys', items: 0, keyless: 0, unmatchedRequests: 0 };
  let items = 0;
  let keyless = 0;
  await forEachLineAsync(inlinePath, (line) => {
    items++;
    if (!readLineKey(line)) keyless++;
  });
  let requests = 0;
  await forEachLineAsync(spoolPath, () => void requests++);

  const out = createWriteStream(outPath, { flags: 'a' });
  const write = async (b: Buffer) => {
    if (!out.write(b)) await once(out, 'drain');
  };
  try {
    if (keyless === 0) {
      await copyAll(inlinePath, write);
      return { matched: 'keys', items, keyless, unmatchedRequests: 0 };
    }
    if (keyless === items && items === requests) {
      await pairByPosition(inlinePath, spoolPath, write);
      return {
        matched: 'position',
        items,
        keyless,
        unmatchedRequests: 0,
        detail: `the ${items} inline responses carried no keys: matched to the requests by position (the documented order)`,
      };
    }
    // Never guess: keep keyed lines, drop the rest, and name the cause for every request left without one.
    const answered = new Set<number>();
    await forEachLineAsync(inlinePath, (line) => {
      const k = readLineKey(line);
      if (k) answered.add(k.seq);
    });
    await copyKeyed(inlinePath, write);
    const cause =
      keyless === items
        ? `the service returned ${items} inline responses without keys for ${requests} requests, so none can be matched safely`
        : `${keyless} of ${items} inline responses came back without a key, so they cannot be matched safely`;
    let unmatched = 0;
    const spool = new SequentialLines(spoolPath);
    try {
      for (let line = spool.next(); line; line = spool.next()) {
        const k = readLineKey(line);
        if (!k || answered.has(k.seq)) continue;
        unmatched++;
        const wire = JSON.stringify(`${k.seq}:${k.userKey}`);
        await write(Buffer.from(`{"key":${wire},"error":{"code":13,"status":"${UNMATCHED_INLINE_STATUS}","message":${JSON.stringify(cause)}}}\n`));
      }
    } finally {
      spool.close();
    }
    return { matched: 'unmatched', items, keyless, unmatchedRequests: unmatched, detail: `${cause}: ${unmatched} records get an error` };
  } finally {
    out.end();
    await once(out, 'close');
  }
}

async function copyAll(path: string, write: (b: Buffer) => Promise<void>): Promise<void> {
  const src = new SequentialLines(path);
  try {
    for (let line = src.next(); line; line = src.next()) await write(Buffer.concat([line, NEWLINE]));
  } finally {
    src.close();
  }
}

async function copyKeyed(path: string, write: (b: Buffer) => Promise<void>): Promise<void> {
  const src = new SequentialLines(path);
  try {
    for (let line = src.next(); line; line = src.next()) {
      if (readLineKey(line)) await write(Buffer.concat([line, NEWLINE]));
    }
  } finally {
    src.close();
  }
}

/** Item i gets the key of request i; the item's bytes are kept as they are. */
async function pairByPosition(inlinePath: string, spoolPath: string, write: (b: Buffer) => Promise<void>): Promise<void> {
  const items = new SequentialLines(inlinePath);
  const requests = new SequentialLines(spoolPath);
  try {
    for (let item = items.next(); item; item = items.next()) {
      const req = requests.next();
      const k = req ? readLineKey(req) : undefined;
      if (!k) continue; // counts matched, so this is a line that is not ours: nothing to pair
      const key = Buffer.from(`{"key":${JSON.stringify(`${k.seq}:${k.userKey}`)},`);
      await write(Buffer.concat([key, withoutNullKey(item), NEWLINE]));
    }
  } finally {
    items.close();
    requests.close();
  }
}

/** The item line after its `{"key":null,` head (or re-serialised without a key when shaped otherwise). */
function withoutNullKey(item: Buffer): Buffer {
  if (item.length > NULL_KEY_HEAD.length && item.compare(NULL_KEY_HEAD, 0, NULL_KEY_HEAD.length, 0, NULL_KEY_HEAD.length) === 0) {
    return item.subarray(NULL_KEY_HEAD.length);
  }
  const parsed = JSON.parse(item.toString('utf8')) as Record<string, unknown>;
  delete parsed.key;
  if (Object.keys(parsed).length === 0) return Buffer.from('"response":null}');
  return Buffer.from(JSON.stringify(parsed).slice(1));
}
