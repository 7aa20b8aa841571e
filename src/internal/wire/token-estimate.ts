/**
 * A cheap estimate of a request's input tokens, made from its line's bytes
 * while spooling, so chunks can be cut at maxBatchTokens before the service's
 * enqueued-token quota refuses them. It must err HIGH: a chunk estimated under
 * the quota but over it in fact is refused with 429 at create.
 *
 * The estimator, byte by byte over the serialised line:
 *   - ASCII bytes / 3. English runs at about 4 characters per token, code and
 *     numbers nearer 3; the JSON frame (`"contents"`, `"parts"`, `"text"`,
 *     quotes, braces) is counted as text too, which only adds to the margin.
 *   - 1 token per non-ASCII character (each UTF-8 lead byte). CJK text is
 *     about one token per character; Cyrillic, Greek, Arabic and the like are
 *     well under one.
 *   - Inline media (`"data": "<base64>"`, i.e. inlineData) is not counted as
 *     text: each blob costs 258 tokens (one image tile, the minimum the
 *     service bills) plus 1 token per 100 decoded bytes, which is above the
 *     service's rate for images (258 per 768x768 tile), audio (32 per second)
 *     and video (263 per second) at ordinary compression. fileData (a file
 *     uploaded apart) cannot be sized from here and counts as its text only.
 *   - plus 16 tokens per request for the turn and role markup.
 */

const DATA = Buffer.from('"data"');
const PER_REQUEST = 16;
const PER_BLOB = 258;
const BLOB_BYTES_PER_TOKEN = 100;
/** A base64 string shorter than this is text like any other. */
const MIN_BLOB_CHARS = 64;

/** Estimated input tokens of one request line (errs high; see the module comment). */
export function estimateRequestTokens(line: Buffer): number {
  let ascii = 0;
  let nonAscii = 0;
  let blobTokens = 0;
  let from = 0;
  const view = new DataView(line.buffer, line.byteOffset, line.length);
  // Blobs first: find each "data" member whose value is a long string, count it apart.
  for (let at = line.indexOf(DATA); at !== -1; at = line.indexOf(DATA, from)) {
    let i = at + DATA.length;
    while (line[i] === 0x20) i++;
    if (line[i] !== 0x3a) {
      countText(at + 1);
      continue;
    }
    i++;
    while (line[i] === 0x20) i++;
    if (line[i] !== 0x22) {
      countText(at + 1);
      continue;
    }
    // base64 has no quotes nor backslashes: the next quote closes it.
    const close = line.indexOf(0x22, i + 1);
    if (close === -1 || close - i - 1 < MIN_BLOB_CHARS) {
      countText(at + 1);
      continue;
    }
    countText(i + 1);
    blobTokens += PER_BLOB + Math.ceil(((close - i - 1) * 3) / 4 / BLOB_BYTES_PER_TOKEN);
    from = close;
  }
  countText(line.length);
  return PER_REQUEST + Math.ceil(ascii / 3) + nonAscii + blobTokens;

  function countText(to: number): void {
    // Four bytes a step, without a branch: ASCII bytes have bit 7 clear, UTF-8 lead bytes of
    // non-ASCII characters have bits 7 and 6 set (continuation bytes: 10xxxxxx, not counted).
    // Mixed-script lines cost half of what a per-byte loop did (bench/README, "CPU").
    let i = from;
    for (; i + 4 <= to; i += 4) {
      const w = view.getUint32(i);
      const high = w & 0x80808080;
      ascii += 4 - flagsSet(high);
      nonAscii += flagsSet(high & (w << 1));
    }
    for (; i < to; i++) {
      const c = line[i]!;
      if (c < 0x80) ascii++;
      else if (c >= 0xc0) nonAscii++;
    }
    from = to;
  }
}

/** How many of bits 7, 15, 23 and 31 are set (the only bits `x` may have). */
function flagsSet(x: number): number {
  return Math.imul(x >>> 7, 0x01010101) >>> 24;
}
