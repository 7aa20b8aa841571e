/**
 * Result lines as the real service writes them: key LAST
 * (`{"response": {...}, "key": "..."}`, PROTOCOL.md). An emulator that still
 * writes `{"key":K,REST}` gets its download bytes rewritten on the way out to
 * `{REST,"key":K}`: the same length (Content-Length and ranges stay true), no
 * JSON parse, and a line that does not start with `{"key":` passes unchanged,
 * so once the emulator writes key-last itself this is a plain pipe.
 *
 * Streaming, not line-buffered: a 1 MB image line is never held, only the
 * key token at its start and one byte (its closing brace) at a chunk's end.
 */
import { Transform, type TransformCallback } from 'node:stream';

const HEAD = Buffer.from('{"key":');
const NL = 0x0a;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const CLOSE = 0x7d;

/** Where the JSON string token starting at `from` (a quote) ends (index after its closing quote), or -1 if not in `buf`. */
function stringEnd(buf: Buffer, from: number): number {
  for (let i = from + 1; i < buf.length; i++) {
    const c = buf[i];
    if (c === BACKSLASH) i++;
    else if (c === QUOTE) return i + 1;
  }
  return -1;
}

export function keyLastRewriter(): Transform {
  // 'head': collecting the start of a line; 'body': inside a rewritten line; 'pass': inside a line left as is.
  let state: 'head' | 'body' | 'pass' = 'head';
  let head: Buffer = Buffer.alloc(0);
  let keyToken: Buffer = Buffer.alloc(0);
  // In 'body', the last byte seen may be the line's closing brace: held until we know.
  let held = -1;

  return new Transform({
    transform(chunk: Buffer, _enc, cb: TransformCallback) {
      const out: Buffer[] = [];
      let pos = 0;
      while (pos < chunk.length) {
        if (state === 'head') {
          const nl = chunk.indexOf(NL, pos);
          const upto = nl < 0 ? chunk.length : nl;
          head = head.length ? Buffer.concat([head, chunk.subarray(pos, upto)]) : chunk.subarray(pos, upto);
          const prefixLen = Math.min(head.length, HEAD.length);
          if (head.subarray(0, prefixLen).compare(HEAD.subarray(0, prefixLen)) !== 0) {
            // Not key-first: pass this line through.
            out.push(head);
            head = Buffer.alloc(0);
            state = 'pass';
            pos = upto;
            continue;
          }
          const end = head.length > HEAD.length && head[HEAD.length] === QUOTE ? stringEnd(head, HEAD.length) : -1;
          if (end > 0 && end < head.length) {
            if (head[end] !== COMMA) {
              // {"key":"k"} or something odd: leave it.
              out.push(head);
              head = Buffer.alloc(0);
              state = 'pass';
              pos = upto;
              continue;
            }
            keyToken = Buffer.from(head.subarray(HEAD.length, end));
            out.push(Buffer.from('{'));
            const rest = head.subarray(end + 1);
            head = Buffer.alloc(0);
            state = 'body';
            held = -1;
            if (rest.length) {
              out.push(rest.subarray(0, rest.length - 1));
              held = rest[rest.length - 1]!;
            }
            pos = upto;
            continue;
          }
          if (nl >= 0) {
            // A whole line shorter than its key token: leave it.
            out.push(head, Buffer.from([NL]));
            head = Buffer.alloc(0);
            pos = nl + 1;
            continue;
          }
          // Need more bytes for the key token; keep a copy (chunk is reused).
          head = Buffer.from(head);
          pos = chunk.length;
        } else if (state === 'pass') {
          const nl = chunk.indexOf(NL, pos);
          if (nl < 0) {
            out.push(chunk.subarray(pos));
            pos = chunk.length;
          } else {
            out.push(chunk.subarray(pos, nl + 1));
            pos = nl + 1;
            state = 'head';
          }
        } else {
          const nl = chunk.indexOf(NL, pos);
          if (nl < 0) {
            if (held >= 0) out.push(Buffer.from([held]));
            out.push(chunk.subarray(pos, chunk.length - 1));
            held = chunk[chunk.length - 1]!;
            pos = chunk.length;
          } else {
            // The line ends here: its last byte (held or just before nl) is the closing brace.
            let last: number;
            if (nl > pos) {
              if (held >= 0) out.push(Buffer.from([held]));
              out.push(chunk.subarray(pos, nl - 1));
              last = chunk[nl - 1]!;
            } else {
              last = held;
            }
            if (last !== CLOSE) throw new Error('key-last rewrite: a key-first line does not end with }');
            out.push(Buffer.from(',"key":'), keyToken, Buffer.from('}\n'));
            held = -1;
            state = 'head';
            pos = nl + 1;
          }
        }
      }
      cb(null, out.length === 1 ? out[0] : Buffer.concat(out));
    },
    flush(cb: TransformCallback) {
      // A file that does not end with a newline: finish the last line the same way.
      if (state === 'body') {
        if (held !== CLOSE) return cb(new Error('key-last rewrite: a key-first line does not end with }'));
        this.push(Buffer.concat([Buffer.from(',"key":'), keyToken, Buffer.from('}')]));
      } else if (head.length) this.push(head);
      cb();
    },
  });
}
