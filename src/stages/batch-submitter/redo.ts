/**
 * Work the service no longer has (issue 11): a batch recorded in the journal
 * that answers 404 on resume (deleted by hand, or gone after 48 h), an
 * uploaded input file that is gone when its batch is created. Neither is a
 * dead end: the chunk is redone, uploaded and created again under the next
 * attempt's displayNames (journal chunkLost), never under the old ones.
 */
import { GeminiApiError } from '../../backends/gemini/errors.js';
import type { GeminiClient } from '../../backends/gemini/types.js';

/** How often one chunk is redone in one run before its error is let through (a service that loses everything). */
export const MAX_REDOS_PER_RUN = 3;

/** Thrown inside stage 4 when a chunk must be redone from its upload; caught by the runner. */
export class ChunkGone extends Error {
  constructor(
    readonly reason: 'batch-gone' | 'upload-gone',
    /** The batch had run (or may have): its price was paid for nothing. */
    readonly paid: boolean,
    detail: string,
  ) {
    super(detail);
    this.name = 'ChunkGone';
  }
}

export function isNotFound(err: unknown): boolean {
  return err instanceof GeminiApiError && err.httpStatus === 404;
}

/**
 * After a create was refused with a client error (4xx, not 429): is its
 * input file what is missing? Asked of the service (files.get answers 404 or
 * 403 for a file it no longer has), never guessed from the message text.
 */
export async function uploadIsGone(client: GeminiClient, err: unknown, fileName: string | undefined, signal?: AbortSignal): Promise<boolean> {
  if (!fileName || !(err instanceof GeminiApiError)) return false;
  if (err.httpStatus < 400 || err.httpStatus >= 500 || err.httpStatus === 429 || err.httpStatus === 408) return false;
  try {
    await client.files.get(fileName, signal);
    return false;
  } catch (e) {
    return e instanceof GeminiApiError && (e.httpStatus === 404 || e.httpStatus === 403);
  }
}
