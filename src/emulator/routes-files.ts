/** Files API: get, list, delete, download (streamed from disk). */
import { createReadStream } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { once } from 'node:events';
import { pipeline } from 'node:stream/promises';
import type { Context } from './context.js';
import { decodePageToken, HttpError, pageSizeOf, paginate, sendJson } from './wire.js';

/** File ids of uploads are at most 40 chars; the service refuses get and delete on longer ones (batch outputs: 42). */
export const MAX_FILE_ID_CHARS = 40;

function checkIdLength(id: string): void {
  if (id.length > MAX_FILE_ID_CHARS) {
    throw new HttpError(400, `Invalid file name "files/${id}": File ID ${id} cannot be more than ${MAX_FILE_ID_CHARS} characters.`, {
      details: [
        {
          '@type': 'type.googleapis.com/google.rpc.BadRequest',
          fieldViolations: [{ field: 'name', description: `File ID cannot be more than ${MAX_FILE_ID_CHARS} characters.` }],
        },
      ],
    });
  }
}

export function getFile(ctx: Context, res: ServerResponse, id: string, origin: string): void {
  checkIdLength(id);
  sendJson(res, 200, ctx.files.toResource(ctx.files.get(id), origin));
}

export function listFiles(ctx: Context, res: ServerResponse, url: URL, origin: string): void {
  const size = pageSizeOf(url.searchParams.get('pageSize'), 10, 100);
  const { page, nextPageToken } = paginate(ctx.files.all(), size, decodePageToken(url.searchParams.get('pageToken')));
  // Like the service, empty repeated fields are left out rather than sent as [].
  const body: Record<string, unknown> = {};
  if (page.length > 0) body.files = page.map((f) => ctx.files.toResource(f, origin));
  if (nextPageToken) body.nextPageToken = nextPageToken;
  sendJson(res, 200, body);
}

export function deleteFile(ctx: Context, res: ServerResponse, id: string): void {
  checkIdLength(id);
  ctx.files.get(id);
  ctx.files.delete(id);
  sendJson(res, 200, {});
}

/** Streams the bytes; honours a single `Range: bytes=a-b` so a client can resume a download. */
export async function downloadFile(ctx: Context, req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
  const f = ctx.files.get(id);
  if (f.source === 'UPLOADED' && !ctx.settings.downloadUploadedFiles) {
    // PROTOCOL.md: uploaded files cannot be downloaded at all; only generated ones (a batch's output).
    throw new HttpError(400, `Only generated files can be downloaded. File files/${id} was uploaded.`, { status: 'INVALID_ARGUMENT' });
  }
  let start = 0;
  let end = f.sizeBytes - 1;
  let status = 200;
  const headers: Record<string, string | number> = { 'content-type': f.mimeType, 'accept-ranges': 'bytes' };
  const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
  if (range && (range[1] !== '' || range[2] !== '')) {
    if (range[1] === '') start = Math.max(0, f.sizeBytes - Number(range[2]));
    else {
      start = Number(range[1]);
      if (range[2] !== '') end = Math.min(end, Number(range[2]));
    }
    if (start > end || start >= f.sizeBytes) {
      throw new HttpError(416, `Requested range not satisfiable for ${f.sizeBytes} bytes.`, {
        status: 'OUT_OF_RANGE',
      });
    }
    status = 206;
    headers['content-range'] = `bytes ${start}-${end}/${f.sizeBytes}`;
  }
  headers['content-length'] = f.sizeBytes === 0 ? 0 : end - start + 1;
  res.writeHead(status, headers);
  if (f.sizeBytes === 0) {
    res.end();
    return;
  }
  const cutAt = ctx.faults.cutDownload(end - start + 1);
  if (cutAt !== undefined) {
    await sendThenCut(ctx, res, ctx.files.binPath(id), start, start + cutAt - 1);
    return;
  }
  // pipeline() rather than pipe(): a client that hangs up must close the file too.
  await pipeline(createReadStream(ctx.files.binPath(id), { start, end, highWaterMark: 256 << 10 }), res).catch(() => {
    res.destroy();
  });
}

/** The fault: bytes start..last of the promised body, then the connection closes (FIN after they are flushed). */
async function sendThenCut(ctx: Context, res: ServerResponse, path: string, start: number, last: number): Promise<void> {
  const socket = res.socket;
  res.flushHeaders();
  try {
    if (last >= start) {
      for await (const chunk of createReadStream(path, { start, end: last, highWaterMark: 256 << 10 }) as AsyncIterable<Buffer>) {
        if (!res.write(chunk)) await once(res, 'drain');
      }
    }
  } catch {
    // The client left first: nothing more to cut.
  }
  ctx.counters.add('downloadCuts');
  // end() rather than destroy(): what was written reaches the client before the close.
  socket?.end();
}
