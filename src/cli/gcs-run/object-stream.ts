/**
 * A Cloud Storage object as a Readable of its bytes, through the backend's
 * verified, resumable download (a cut continues with a Range request; the
 * checksum is checked at the end): the download waits while the reader is
 * behind, so memory stays at one piece whatever the object's size.
 */
import { once } from 'node:events';
import { PassThrough, type Readable } from 'node:stream';
import type { Gcs, GcsObject } from '../../backends/vertex/gcs.js';

export function objectReadable(gcs: Gcs, obj: GcsObject, signal?: AbortSignal): Readable {
  const out = new PassThrough({ highWaterMark: 1 << 20 });
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });
  out.once('close', () => {
    signal?.removeEventListener('abort', onAbort);
    stop.abort();
  });
  gcs
    .download(
      obj,
      async (chunk) => {
        if (!out.write(chunk)) await once(out, 'drain', { signal: stop.signal });
      },
      stop.signal,
    )
    .then(
      () => out.end(),
      (err: unknown) => {
        if (!out.destroyed) out.destroy(err as Error);
      },
    );
  return out;
}
