/**
 * A streaming reader of `multipart/related` bodies, what the JSON API's
 * `uploadType=multipart` sends: a JSON metadata part, then the object's bytes.
 * The well-kept multipart parsers (busboy and kin) read only
 * multipart/form-data, hence this small one. Memory: the metadata part (at most
 * 1 MiB) and one chunk; the data part goes to `onData` as it arrives.
 */
import { badRequest } from './errors.js';

const MAX_METADATA = 1 << 20;
const MAX_HEADERS = 64 << 10;
const CRLF2 = Buffer.from('\r\n\r\n');

export interface MultipartHead {
  metadata: unknown;
  /** Content-Type of the data part. */
  contentType: string | undefined;
}

export function boundaryOf(contentType: string | undefined): string | undefined {
  const m = /boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? '');
  return m ? (m[1] ?? m[2]) : undefined;
}

export async function readMultipartRelated(
  body: AsyncIterable<Buffer>,
  boundary: string,
  onData: (chunk: Buffer) => Promise<void>,
): Promise<MultipartHead> {
  const delim = Buffer.from(`\r\n--${boundary}`);
  // A leading CRLF lets the first delimiter (at the very start) match like the others.
  let buf: Buffer = Buffer.from('\r\n');
  // Changed inside step(): typed wide so the checks below are not narrowed away.
  let phase = 'preamble' as 'preamble' | 'after' | 'headers' | 'body' | 'done';
  let part = -1;
  const meta: Buffer[] = [];
  let metaLen = 0;
  let dataType: string | undefined;

  const emit = async (b: Buffer): Promise<void> => {
    if (b.length === 0) return;
    if (part === 0) {
      metaLen += b.length;
      if (metaLen > MAX_METADATA) throw badRequest('Multipart metadata part is too large.');
      meta.push(b);
    } else if (part === 1) await onData(b);
  };

  const step = async (): Promise<boolean> => {
    switch (phase) {
      case 'preamble': {
        const i = buf.indexOf(delim);
        if (i < 0) {
          buf = buf.subarray(Math.max(0, buf.length - delim.length));
          return false;
        }
        buf = buf.subarray(i + delim.length);
        phase = 'after';
        return true;
      }
      case 'after': {
        if (buf.length < 2) return false;
        if (buf[0] === 0x2d && buf[1] === 0x2d) {
          phase = 'done';
          return false;
        }
        const nl = buf.indexOf('\n');
        if (nl < 0) return false;
        buf = buf.subarray(nl + 1);
        part++;
        phase = 'headers';
        return true;
      }
      case 'headers': {
        const i = buf.indexOf(CRLF2);
        // A part with no headers starts right at its blank line.
        const start = buf.subarray(0, 2).toString() === '\r\n' ? 0 : i;
        if (start < 0) {
          if (buf.length > MAX_HEADERS) throw badRequest('Multipart part headers are too large.');
          return false;
        }
        const head = buf.subarray(0, start).toString('latin1');
        if (part === 1) dataType = /^content-type:\s*(.+)$/im.exec(head)?.[1]?.trim();
        buf = buf.subarray(start === 0 ? 2 : start + 4);
        phase = 'body';
        return true;
      }
      case 'body': {
        const i = buf.indexOf(delim);
        if (i >= 0) {
          await emit(buf.subarray(0, i));
          buf = buf.subarray(i + delim.length);
          phase = 'after';
          return true;
        }
        const safe = buf.length - (delim.length - 1);
        if (safe > 0) {
          await emit(buf.subarray(0, safe));
          buf = buf.subarray(safe);
        }
        return false;
      }
      case 'done':
        return false;
    }
  };

  for await (const chunk of body) {
    if (phase === 'done') continue; // the epilogue: drain it
    buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    while (await step());
  }
  if (phase !== 'done') throw badRequest('Multipart body ended before its closing boundary.');
  if (part < 1) throw badRequest('Multipart upload needs a metadata part and a media part.');
  let metadata: unknown = {};
  const text = Buffer.concat(meta, metaLen).toString('utf8').trim();
  if (text !== '') {
    try {
      metadata = JSON.parse(text) as unknown;
    } catch {
      throw badRequest('Multipart metadata part is not valid JSON.');
    }
  }
  return { metadata, contentType: dataType };
}
