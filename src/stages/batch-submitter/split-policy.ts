/**
 * When and how a chunk is cut again after it was spooled: the halves of an
 * EXPIRED batch (issue 11) and the parts of a chunk over the enqueued-token
 * quota (issue 10). Lines are copied as bytes, never re-serialised.
 *
 * EXPIRED floor: a batch expires when the service did not get to it within
 * 48 h. That is a shortage of capacity, not a batch choking on its own size:
 * halving helps a little (smaller batches are scheduled sooner), halving
 * again and again only multiplies batches (a 64-record chunk used to become
 * 126 batches, run one after another). So an EXPIRED batch is split at most
 * MAX_EXPIRED_SPLIT_DEPTH times (a chunk becomes at most 8 batches), never
 * into parts under minSplitRequests, and the halves run at once. What still
 * expires at the floor gets BATCH_EXPIRED for its records.
 */
import { SpoolFile } from '../../internal/io/spool-file.js';
import { SequentialLines, forEachLineAsync } from '../../internal/io/lines.js';
import { estimateRequestTokens } from '../../internal/wire/token-estimate.js';

/** Times one chunk is halved after EXPIRED, at most: 3 → at most 8 batches per chunk. */
export const MAX_EXPIRED_SPLIT_DEPTH = 3;

/** Whether an EXPIRED batch of `lines` requests, `depth` splits deep, is halved again. */
export function shouldSplitExpired(lines: number, depth: number, minSplitRequests = 1): boolean {
  if (depth >= MAX_EXPIRED_SPLIT_DEPTH) return false;
  return lines >= 2 && Math.floor(lines / 2) >= Math.max(1, minSplitRequests);
}

/** Tokens of one request line: an estimate that errs high (default: the wire token estimator). */
export type LineTokenEstimator = (line: Buffer) => number;

export interface TokenPart {
  path: string;
  lines: number;
  tokens: number;
}

/**
 * Cut `spoolPath` into consecutive parts of at most `partTokens` estimated
 * tokens each (a single line over it makes a part alone: the caller decides
 * what to do with a request that can never fit). Parts are written to
 * `<prefix>-<n>`.
 */
export async function cutByTokens(
  spoolPath: string,
  partTokens: number,
  prefix: string,
  estimate: LineTokenEstimator = estimateRequestTokens,
): Promise<TokenPart[]> {
  const parts: TokenPart[] = [];
  let spool: SpoolFile | undefined;
  let current: TokenPart | undefined;
  const closeCurrent = async () => {
    if (spool) await spool.close();
    spool = undefined;
    current = undefined;
  };
  const src = new SequentialLines(spoolPath);
  try {
    for (let line = src.next(); line; line = src.next()) {
      const t = estimate(line);
      if (current && current.lines > 0 && current.tokens + t > partTokens) await closeCurrent();
      if (!current) {
        current = { path: `${prefix}-${parts.length}`, lines: 0, tokens: 0 };
        parts.push(current);
        spool = new SpoolFile(current.path);
      }
      current.lines++;
      current.tokens += t;
      const w = spool!.append(Buffer.concat([line, Buffer.from('\n')]));
      if (w) await w;
    }
    await closeCurrent();
  } catch (err) {
    await spool?.abandon();
    throw err;
  } finally {
    src.close();
  }
  return parts;
}

/**
 * Estimated tokens of a whole spool file (when the chunker did not sum them):
 * one pass, handing the event loop back every 16 MB so other jobs' polls and
 * uploads go on meanwhile.
 */
export async function spoolTokens(spoolPath: string, estimate: LineTokenEstimator = estimateRequestTokens): Promise<number> {
  let total = 0;
  await forEachLineAsync(spoolPath, (line) => {
    total += estimate(line);
  });
  return total;
}
