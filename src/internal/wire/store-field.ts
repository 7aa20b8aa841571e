/**
 * `store: false` (request storage, PROTOCOL.md): the top-level field
 * `"store": false` written into a wire line's request, on its bytes. A
 * request that already says `store` keeps its own choice.
 */
import { RBRACE, skipSpace } from './json-bytes.js';
import { memberValue, requestOpen } from './json-member.js';

const STORE_FALSE = Buffer.from('"store":false');
const COMMA_AFTER = Buffer.from(',');

/** The line with `"store":false` first in its request; the same buffer when it has one or no request object. */
export function withStoreFalse(line: Buffer): Buffer {
  const open = requestOpen(line);
  if (open === -1 || line[open] !== 0x7b) return line;
  if (memberValue(line, open, 'store') !== -1) return line;
  const empty = line[skipSpace(line, open + 1)] === RBRACE;
  const parts = [line.subarray(0, open + 1), STORE_FALSE, ...(empty ? [] : [COMMA_AFTER]), line.subarray(open + 1)];
  return Buffer.concat(parts);
}
