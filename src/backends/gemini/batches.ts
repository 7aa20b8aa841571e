/**
 * The Batches API.
 *
 * `create` is NOT idempotent (the same body sent twice makes two jobs), so it
 * is retried only on failures that prove the service did not act on it: 429
 * and 408 (the service refused or never read the request) and a connection
 * that was never established (ECONNREFUSED, DNS, connect timeout). Every
 * other failure may hide a created job: a reset or timeout after the body was
 * sent, and any 5xx (a frontend can answer 500/503/504 after the backend
 * accepted the job; the emulator's ambiguousCreateRate knob does exactly
 * that). Those throw a GeminiApiError with `ambiguous: true`, at once; the
 * caller must look for the job by displayName (`list`) before creating it
 * again.
 *
 * A 429 that carries a google.rpc.QuotaFailure is not retried here either:
 * it is thrown at once with `err.quota` (metric, model, limit) and
 * `err.retryAfterMs`, for the caller's quota policy.
 */
import { Readable } from 'node:stream';
import { abortError } from '../../errors.js';
import { GeminiApiError } from './errors.js';
import { routeOf, type HttpTransport } from './http.js';
import { findBatchByDisplayName } from './find-batch.js';
import { splitOperation } from './inline-results.js';
import { modelPath, pageQuery, resourcePath } from './names.js';
import { listOperationsSchema, normalizeState, operationSchema, type WireOperation } from './schemas.js';
import { jobAgeMs, nextPollDelay, pollPolicy } from './poll-policy.js';
import { sleep } from './retry.js';
import { GeminiBatchError } from '../../errors.js';
import { TERMINAL_STATES, type BatchOperation, type InlineKeying, type BatchesApi, type BatchStats, type CreateBatchOptions } from './types.js';

/** Wire Operation → BatchOperation. */
export function toBatchOperation(wire: WireOperation, raw: unknown = wire): BatchOperation {
  const md = wire.metadata ?? {};
  let state = normalizeState(md.state);
  const done = wire.done === true || TERMINAL_STATES.has(state);
  // A finished operation without metadata.state (REST-only shape): infer from error/response.
  if (state === 'UNSPECIFIED' && wire.done === true) state = wire.error ? 'FAILED' : 'SUCCEEDED';
  const s = md.batchStats ?? {};
  const stats: BatchStats = {};
  if (s.requestCount !== undefined) stats.requestCount = s.requestCount;
  if (s.successfulRequestCount !== undefined) stats.successfulRequestCount = s.successfulRequestCount;
  if (s.failedRequestCount !== undefined) stats.failedRequestCount = s.failedRequestCount;
  if (s.pendingRequestCount !== undefined) stats.pendingRequestCount = s.pendingRequestCount;
  const inline =
    md.output?.inlinedResponses?.inlinedResponses ??
    md.output?.inlinedEmbedContentResponses?.inlinedResponses ??
    wire.response?.inlinedResponses?.inlinedResponses ??
    wire.response?.inlinedEmbedContentResponses?.inlinedResponses;
  const responsesFile = md.output?.responsesFile ?? wire.response?.responsesFile;
  const hasOutput = Boolean(responsesFile) || inline !== undefined;
  const op: BatchOperation = { name: wire.name || md.name || '', state, done, hasOutput, outputPending: done && state === 'SUCCEEDED' && !hasOutput, stats, raw };
  if (md.state) op.wireState = md.state;
  if (responsesFile) op.responsesFile = responsesFile;
  if (inline) op.inlinedResponseCount = inline.length;
  if (md.displayName !== undefined) op.displayName = md.displayName;
  if (md.model !== undefined) op.model = md.model;
  if (md.createTime !== undefined) op.createTime = md.createTime;
  if (md.updateTime !== undefined) op.updateTime = md.updateTime;
  if (md.endTime !== undefined) op.endTime = md.endTime;
  if (wire.error) {
    const { code, message, status } = wire.error;
    op.error = { ...(code !== undefined ? { code } : {}), ...(message !== undefined ? { message } : {}), ...(status !== undefined ? { status } : {}) };
  }
  return op;
}

/** batch.webhookConfig, checked here so a bad one fails before any request. */
function webhookConfigJson(cfg: NonNullable<CreateBatchOptions['webhookConfig']>): string {
  const uris = cfg.uris as unknown;
  if (!Array.isArray(uris) || uris.length === 0 || !uris.every((u) => typeof u === 'string' && /^https?:\/\//.test(u) && URL.canParse(u))) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'batches.create: webhookConfig.uris must be a non-empty list of http(s) URLs');
  }
  const meta = cfg.userMetadata as unknown;
  if (meta !== undefined && (meta === null || typeof meta !== 'object' || Array.isArray(meta))) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'batches.create: webhookConfig.userMetadata must be an object');
  }
  return JSON.stringify({ uris, ...(meta !== undefined ? { userMetadata: meta } : {}) });
}

/** Recompute hasOutput/outputPending after the inline count changed. */
function withOutputFlags(op: BatchOperation): BatchOperation {
  op.hasOutput = Boolean(op.responsesFile) || op.inlinedResponseCount !== undefined;
  op.outputPending = op.done && op.state === 'SUCCEEDED' && !op.hasOutput;
  return op;
}

/**
 * The create body; inline requests are spliced in as raw JSON text, never
 * re-parsed. A streamed inline input gives a factory: one fresh body per attempt.
 */
export function createBody(opts: CreateBatchOptions): Buffer | (() => Readable) {
  const hasFile = opts.fileName !== undefined;
  const inlineKinds = Number(opts.inlineRequestsJson !== undefined) + Number(opts.inlineRequests !== undefined);
  if (Number(hasFile) + inlineKinds !== 1) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'batches.create needs exactly one of fileName, inlineRequestsJson or inlineRequests');
  }
  // Fields before inputConfig, each with its trailing comma.
  let fields = opts.displayName !== undefined ? `"displayName":${JSON.stringify(opts.displayName)},` : '';
  if (opts.webhookConfig !== undefined) fields += `"webhookConfig":${webhookConfigJson(opts.webhookConfig)},`;
  if (hasFile) return Buffer.from(`{"batch":{${fields}"inputConfig":{"fileName":${JSON.stringify(opts.fileName)}}}}`);
  const head = Buffer.from(`{"batch":{${fields}"inputConfig":{"requests":{"requests":`);
  const tail = Buffer.from('}}}}');
  const stream = opts.inlineRequests;
  if (stream) {
    return () =>
      Readable.from(
        (async function* () {
          yield head;
          yield* stream() as AsyncIterable<Buffer>;
          yield tail;
        })(),
        { objectMode: false },
      );
  }
  const raw = opts.inlineRequestsJson as string | Buffer;
  return Buffer.concat([head, typeof raw === 'string' ? Buffer.from(raw) : raw, tail]);
}

export function createBatchesApi(http: HttpTransport): BatchesApi {
  const sig = (signal?: AbortSignal) => (signal ? { signal } : {});
  const jsonHeaders = { 'content-type': 'application/json' };

  const get = async (name: string, signal?: AbortSignal): Promise<BatchOperation> => {
    const url = http.api(resourcePath('batches', name));
    const wire = await http.retry(() => http.sendJson({ method: 'GET', url, ...sig(signal) }, operationSchema), sig(signal));
    return toBatchOperation(wire);
  };

  const getToFile = (name: string, path: string, signal?: AbortSignal): Promise<BatchOperation> => {
    const url = http.api(resourcePath('batches', name));
    const route = routeOf('GET', new URL(url));
    return http.retry(async () => {
      const res = await http.send({ method: 'GET', url, ...sig(signal) });
      let bodyError: unknown;
      res.body.once('error', (err) => (bodyError = err));
      let split;
      try {
        split = await splitOperation(res.body, path, signal);
      } catch (err) {
        if (signal?.aborted) throw abortError(signal);
        if (err === bodyError) throw http.networkError(err, route);
        throw new GeminiApiError({
          httpStatus: res.status,
          status: 'INVALID_RESPONSE',
          detail: `operation is not valid JSON: ${err instanceof Error ? err.message : String(err)}`,
          route,
          retryable: false,
        });
      }
      const wire = http.parseJson(JSON.stringify(split.rest), operationSchema, res.status, route);
      const op = toBatchOperation(wire, split.rest);
      if (split.count !== undefined) {
        op.inlinedResponseCount = split.count;
        // Keyless lines stay `"key":null` here: keying them by position is the backend's (inline-keying.ts).
        const keying: InlineKeying = split.keyless > 0 ? 'unmatched' : 'keys';
        op.inlineKeys = { keying, keyed: split.keyed, keyless: split.keyless };
      } else delete op.inlinedResponseCount;
      return withOutputFlags(op);
    }, sig(signal));
  };

  const api: BatchesApi = {
    create: async (opts) => {
      const body = createBody(opts);
      const method = (opts.task ?? 'generate') === 'embed' ? 'asyncBatchEmbedContent' : 'batchGenerateContent';
      const url = http.api(`${modelPath(opts.model)}:${method}`);
      const wire = await http.retry(async () => {
        try {
          const payload = typeof body === 'function' ? body() : body;
          return await http.sendJson({ method: 'POST', url, headers: jsonHeaders, body: payload, ...sig(opts.signal) }, operationSchema);
        } catch (err) {
          throw err instanceof GeminiApiError && err.httpStatus >= 500 ? err.asAmbiguous() : err;
        }
      }, {
        ...sig(opts.signal),
        idempotent: false,
        // A refusal that names a quota (QuotaFailure) is the caller's to handle: it may have to
        // split the chunk or wait for its own jobs, which a blind retry cannot do.
        shouldRetry: (err) => err.quotaViolations.length === 0,
      });
      return toBatchOperation(wire);
    },

    get,
    getToFile,

    list: (opts = {}) => ({
      async *[Symbol.asyncIterator]() {
        let pageToken: string | undefined;
        do {
          const url = http.api(`batches${pageQuery(opts.pageSize, pageToken)}`);
          const page = await http.retry(() => http.sendJson({ method: 'GET', url, ...sig(opts.signal) }, listOperationsSchema), sig(opts.signal));
          for (const op of page.operations ?? []) yield toBatchOperation(op);
          pageToken = page.nextPageToken || undefined;
        } while (pageToken);
      },
    }),

    cancel: async (name, signal) => {
      const url = http.api(`${resourcePath('batches', name)}:cancel`);
      await http.retry(async () => {
        const res = await http.send({ method: 'POST', url, headers: jsonHeaders, body: '{}', ...sig(signal) });
        res.body.resume();
      }, sig(signal));
    },

    delete: async (name, signal) => {
      const url = http.api(resourcePath('batches', name));
      await http.retry(async () => {
        const res = await http.send({ method: 'DELETE', url, ...sig(signal) });
        res.body.resume();
      }, sig(signal));
    },

    findByDisplayName: (displayName, opts) => findBatchByDisplayName(api, displayName, opts),

    waitForBatch: async (name, opts = {}) => {
      const { signal, onState, inlineResultsPath } = opts;
      const policy = pollPolicy(opts.pollInterval);
      const waitStart = Date.now();
      let interval = policy.initialMs;
      let last: string | undefined;
      for (;;) {
        // getToFile writes nothing until the operation carries inline responses, i.e. when it is done.
        const op = inlineResultsPath ? await getToFile(name, inlineResultsPath, signal) : await get(name, signal);
        if (op.state !== last) {
          last = op.state;
          onState?.(op);
        }
        if (op.done || TERMINAL_STATES.has(op.state)) return op;
        await (opts.pause ? opts.pause(interval, signal) : sleep(interval, signal));
        if (signal?.aborted) throw abortError(signal);
        interval = nextPollDelay(interval, jobAgeMs(op, waitStart, Date.now()), policy);
      }
    },
  };
  return api;
}
