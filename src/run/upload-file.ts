/**
 * Upload one local JSONL file (a chunk's spool, a split half, a retry set):
 * the upload core that stage 3 and stage 4's recovery both use, so no stage
 * imports a sibling stage.
 */
import type { GeminiClient } from '../backends/gemini/types.js';
import { crashPoint } from '../failpoints.js';

export interface UploadFileOptions {
  signal?: AbortSignal;
  /** A session URL from an earlier run: continue it from the service's received offset. */
  uploadUrl?: string;
  /** Called with the session URL before the first byte (the journal records it). */
  onUploadUrl?: (url: string) => Promise<void> | void;
  /** Bytes the service acknowledged since the last call. */
  onBytes?: (n: number) => void;
}

/** Resolves with the file's name (files/x). */
export async function uploadFile(client: GeminiClient, path: string, displayName: string, opts: UploadFileOptions = {}): Promise<string> {
  let acked = 0;
  const file = await client.files.upload(path, {
    displayName,
    mimeType: 'application/jsonl',
    uploadUrl: opts.uploadUrl,
    onUploadUrl: opts.onUploadUrl,
    signal: opts.signal,
    onProgress: (p) => {
      if (p.offset < p.total) crashPoint('upload-piece');
      if (p.offset > acked) opts.onBytes?.(p.offset - acked);
      acked = p.offset;
    },
  });
  return file.name;
}
