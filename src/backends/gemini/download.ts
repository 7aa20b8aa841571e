/**
 * A media download that survives a cut: when the body breaks off (the
 * service or a proxy closes the connection mid-body: UND_ERR_SOCKET "other
 * side closed"), the rest is asked for with `Range: bytes=<received>-` and
 * the stream goes on where it stopped, so the reader sees one whole body.
 * A 206 must start at the byte asked for; a 200 (a server that ignores
 * Range) is read from the start and its first `received` bytes skipped.
 *
 * The length is checked: a body that ends short of its Content-Length (or of
 * the total a Content-Range named) is resumed like a cut one, never taken as
 * complete. Retries are bounded by the client's `retry` options, counted
 * since the last byte that arrived (a long download over a flaky link may be
 * cut many times while it makes progress); when they are spent the stream
 * fails with one error saying how far it got.
 */
import { Readable } from 'node:stream';
import { abortError } from '../../errors.js';
import { nextDelay, sleep } from '../../internal/backoff.js';
import { GeminiApiError } from './errors.js';
import { header, routeOf, type HttpResponse, type HttpTransport } from './http.js';
import { backoffOf, isRetryable } from './retry.js';

/** Total size the first answer promises: Content-Length of a 200, the "/total" of a 206. */
function promisedTotal(res: HttpResponse): number | undefined {
  const range = /\/(\d+)\s*$/.exec(header(res.headers, 'content-range') ?? '');
  if (res.status === 206 && range) return Number(range[1]);
  const length = header(res.headers, 'content-length');
  return length !== undefined && /^\d+$/.test(length.trim()) ? Number(length) : undefined;
}

/** Where a 206 starts ("bytes 100-199/200" → 100). */
function rangeStart(res: HttpResponse): number | undefined {
  const m = /^bytes\s+(\d+)-/.exec(header(res.headers, 'content-range') ?? '');
  return m ? Number(m[1]) : undefined;
}

/**
 * Opens `url` (retried by the client's policy) and returns a stream of its
 * whole body, resuming after cuts. Destroying the stream releases the socket.
 */
export async function openResumableDownload(http: HttpTransport, url: string, signal?: AbortSignal): Promise<Readable> {
  const route = routeOf('GET', new URL(url));
  const sig = signal ? { signal } : {};
  const first = await http.retry(() => http.send({ method: 'GET', url, ...sig }), sig);
  // Unknown when the first answer was chunked; a later 206's Content-Range may tell.
  let total = promisedTotal(first);
  const backoff = backoffOf(http.retryOptions);

  async function* chunks(): AsyncGenerator<Buffer> {
    let res: HttpResponse | undefined = first;
    let received = 0;
    let skip = 0;
    // Attempts and time since the last byte arrived: progress renews the budget.
    let failures = 0;
    let stalledSince = Date.now();
    try {
      for (;;) {
        let failure: GeminiApiError | undefined;
        if (res) {
          try {
            for await (const chunk of res.body as AsyncIterable<Buffer>) {
              let c = chunk;
              if (skip > 0) {
                const drop = Math.min(skip, c.length);
                skip -= drop;
                c = c.subarray(drop);
                if (c.length === 0) continue;
              }
              received += c.length;
              failures = 0;
              stalledSince = Date.now();
              yield c;
            }
          } catch (err) {
            if (signal?.aborted) throw abortError(signal);
            failure = http.networkError(err, route);
            if (!failure.retryable) throw failure;
          }
          res = undefined;
          if (!failure) {
            if (total === undefined || received === total) return;
            if (received > total) throw lengthError(route, received, total, 'more than');
            failure = lengthError(route, received, total, 'ended after');
          }
        }
        failures++;
        const elapsedMs = Date.now() - stalledSince;
        const wait = nextDelay(failures, backoff, Math.random, { elapsedMs, ...(failure?.retryAfterMs !== undefined ? { hintMs: failure.retryAfterMs } : {}) });
        if (wait === undefined) {
          const of = total === undefined ? '' : ` of ${total}`;
          throw (failure ?? lengthError(route, received, total ?? received, 'ended after')).withNote(
            `the download stopped at byte ${received}${of}; gave up after ${failures} attempts to resume in ${Math.round(elapsedMs / 100) / 10} s`,
          );
        }
        http.notifyRetry({ attempt: failures, error: failure, delayMs: wait, elapsedMs, route });
        await sleep(wait, signal);
        try {
          res = await http.send({ method: 'GET', url, headers: { range: `bytes=${received}-` }, ...sig });
        } catch (err) {
          if (signal?.aborted) throw abortError(signal);
          if (!isRetryable(err)) throw err;
          failure = err as GeminiApiError;
          continue;
        }
        if (res.status === 206) {
          const start = rangeStart(res);
          if (start !== received) {
            res.body.destroy();
            throw new GeminiApiError({ httpStatus: 206, status: 'INVALID_RESPONSE', detail: `asked for bytes from ${received}, got a range from ${start ?? 'nowhere'}`, route, retryable: false });
          }
          skip = 0;
          total ??= promisedTotal(res);
        } else skip = received; // Range ignored: the whole body again, the part we have skipped.
      }
    } finally {
      // Left early (consumer gone, error): release the socket.
      if (res && !res.body.destroyed) res.body.destroy();
      if (!first.body.destroyed) first.body.destroy();
    }
  }

  return Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 });
}

function lengthError(route: string, received: number, total: number, what: string): GeminiApiError {
  return new GeminiApiError({
    httpStatus: 0,
    status: 'NETWORK_ERROR',
    detail: `the body ${what} ${received} bytes of the ${total} its headers promised`,
    route,
    // Too short is a cut (resume it); too long is an answer we cannot trust.
    retryable: what !== 'more than',
  });
}
