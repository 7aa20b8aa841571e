/**
 * OUT from the objects' ordered results files, objects in name order: a
 * local file through OUT.partial renamed over OUT (as the CLI does), `-`
 * (stdout), or a `gs://` object, written at the end by the backend's
 * resumable create-only upload (its session journaled, so a rerun goes on
 * with it; an object already there is taken only if it holds these bytes).
 */
import { createReadStream } from 'node:fs';
import { once } from 'node:events';
import { dirname } from 'node:path';
import type { Writable } from 'node:stream';
import { parseGsUri, type Gcs } from '../../backends/vertex/gcs.js';
import { makeDirs } from '../../internal/io/make-dirs.js';
import { openOutput } from '../output.js';
import { partialPathOf, publishOut } from '../replace-out.js';

export type OutKind = 'file' | 'stdout' | 'gcs';

export function outKind(out: string): OutKind {
  return out === '-' ? 'stdout' : out.startsWith('gs://') ? 'gcs' : 'file';
}

async function concat(parts: string[], sink: Writable, signal?: AbortSignal): Promise<void> {
  for (const p of parts) {
    for await (const chunk of createReadStream(p, { highWaterMark: 256 << 10, signal }) as AsyncIterable<Buffer>) {
      if (!sink.write(chunk)) await once(sink, 'drain', signal ? { signal } : {});
    }
  }
}

export interface WriteOutOptions {
  gcs: Gcs;
  /** A local file for a gs:// OUT's bytes before they go up. */
  stagingPath: string;
  uploadUrl?: string;
  onUploadUrl(url: string): void;
  signal?: AbortSignal;
}

export async function writeOut(out: string, parts: string[], o: WriteOutOptions): Promise<void> {
  const kind = outKind(out);
  if (kind === 'stdout') {
    await concat(parts, process.stdout, o.signal);
    return;
  }
  const local = kind === 'file' ? partialPathOf(out) : o.stagingPath;
  makeDirs(dirname(local));
  const target = openOutput(local);
  try {
    await concat(parts, target.stream, o.signal);
    await new Promise<void>((resolve) => target.stream.end(resolve));
  } finally {
    await target.finish();
  }
  if (kind === 'file') {
    await publishOut(local, out);
    return;
  }
  const { bucket, name } = parseGsUri(out);
  await o.gcs.upload(local, bucket, name, {
    ...(o.uploadUrl ? { uploadUrl: o.uploadUrl } : {}),
    onUploadUrl: (url: string) => o.onUploadUrl(url),
    ...(o.signal ? { signal: o.signal } : {}),
  });
}

