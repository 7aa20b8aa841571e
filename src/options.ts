/**
 * geminiBatch() options: the run's own options composed with each stage's
 * schema (src/options/*), validated once, up front. Defaults live in the
 * schemas and nowhere else; the public types are derived from them.
 */
import { z } from 'zod/v3';
import { GeminiBatchError } from './errors.js';
import type { BatchRecord } from './types.js';
import { chunkerOptionsSchema } from './options/chunker.js';
import { costOptionsSchema } from './options/cost.js';
import { demuxerOptionsSchema } from './options/demuxer.js';
import { parseOptions } from './options/parse.js';
import { recordOptionsSchema } from './options/record.js';
import { retryOptionsSchema } from './options/retry.js';
import { submitterOptionsSchema } from './options/submitter.js';
import { uploaderOptionsSchema } from './options/uploader.js';
import { webhookOptionsSchema } from './webhook/options.js';

export { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_INLINE_BYTES } from './options/fields.js';

const vertexOptionsSchema = z
  .object({
    /** Else GOOGLE_CLOUD_PROJECT. */
    project: z.string().min(1).optional(),
    /** Else GOOGLE_CLOUD_LOCATION, else us-central1 (`global`: the global endpoint). */
    location: z.string().regex(/^[a-z0-9-]+$/, 'a Google Cloud location such as us-central1 or global').optional(),
    /** Where input and output objects go: gs://BUCKET/PREFIX. */
    bucket: z.string().regex(/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}(\/.*)?$/, 'gs://BUCKET or gs://BUCKET/PREFIX').optional(),
    /** A fresh OAuth2 access token (else GOOGLE_OAUTH_ACCESS_TOKEN, else Application Default Credentials). */
    getAccessToken: z.custom<() => Promise<string> | string>((v) => typeof v === 'function', 'a function').optional(),
  })
  .strict();

/** Options of the run itself: where it talks to, where it keeps things, how it ends. */
export const runOptionsSchema = z
  .object({
    /** Else GOOGLE_API_KEY, else GEMINI_API_KEY. Only ever sent as the x-goog-api-key header. */
    apiKey: z.string().min(1).optional(),
    /** Else GOOGLE_GEMINI_BASE_URL, else the real service. */
    baseUrl: z.string().url().optional(),
    /** HTTP retry policy. */
    retry: retryOptionsSchema.optional(),
    /** Where spool and result files go without a stateDir (default os.tmpdir()). */
    tmpDir: z.string().min(1).optional(),
    signal: z.instanceof(AbortSignal).optional(),
    /** Crash-safe journal directory: a rerun with the same input resumes without paying twice. */
    stateDir: z.string().min(1).optional(),
    /** Names the batches `<runId>-<chunk>` (default: derived from the stateDir, else random). */
    runId: z.string().regex(/^[a-z0-9-]{1,40}$/, 'runId: 1-40 chars of a-z, 0-9, -').optional(),
    /**
     * With a stateDir: record the run complete when the stream ends (default).
     * false: your own output must be durable first; call `stream.complete()` then.
     */
    completeOnEnd: z.boolean().default(true),
    /**
     * Finish on the service's signed webhook event, polling only as a safety
     * net at pollInterval: `{url?, listen?: {host, port}, secret?}` (README, Webhooks).
     */
    webhook: webhookOptionsSchema.optional(),
    /** Which batch service: the Gemini Developer API (default) or Vertex AI batch prediction (README, Vertex AI). */
    backend: z.enum(['gemini', 'vertex']).default('gemini'),
    /** With backend 'vertex': the project, location and Cloud Storage place of its jobs. */
    vertex: vertexOptionsSchema.optional(),
  })
  .strict();

export const optionsSchema = runOptionsSchema
  .merge(recordOptionsSchema)
  .merge(costOptionsSchema)
  .merge(chunkerOptionsSchema)
  .merge(uploaderOptionsSchema)
  .merge(submitterOptionsSchema)
  .merge(demuxerOptionsSchema.omit({ firstIndex: true, removeFiles: true }))
  .strict();

type SchemaInput = z.input<typeof optionsSchema>;

/** Options of geminiBatch(): derived from the schema, with toRequest typed for the caller's records. */
export type GeminiBatchOptions<R = BatchRecord> = Omit<SchemaInput, 'toRequest'> & {
  /** Map any record to {key, request}; default: the record already is one. */
  toRequest?: (record: R, seq: number) => BatchRecord;
};

export type ResolvedOptions<R = BatchRecord> = Omit<z.output<typeof optionsSchema>, 'toRequest'> & {
  toRequest?: (record: R, seq: number) => BatchRecord;
};

export function resolveOptions<R>(opts: GeminiBatchOptions<R>): ResolvedOptions<R> {
  const out = parseOptions(optionsSchema, opts, 'geminiBatch') as ResolvedOptions<R>;
  if (out.skipResults > 0 && !out.ordered) {
    // "The first N results" only means the first N records when results come in input order.
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'geminiBatch: skipResults needs ordered: true');
  }
  return out.backend === 'vertex' ? withVertexDefaults(out) : out;
}

/** Vertex's project and location from the environment when not given; one sentence when project or bucket is missing. */
function withVertexDefaults<R>(o: ResolvedOptions<R>): ResolvedOptions<R> {
  const env = (name: string) => process.env[name]?.trim() || undefined;
  const vertex = { ...o.vertex };
  vertex.project ??= env('GOOGLE_CLOUD_PROJECT');
  vertex.location ??= env('GOOGLE_CLOUD_LOCATION');
  if (!vertex.project) throw new GeminiBatchError('ERR_INVALID_OPTIONS', "geminiBatch: backend 'vertex' needs a Google Cloud project: give vertex.project or set GOOGLE_CLOUD_PROJECT");
  if (!vertex.bucket) throw new GeminiBatchError('ERR_INVALID_OPTIONS', "geminiBatch: backend 'vertex' needs a Cloud Storage place for input and output: give vertex.bucket as gs://BUCKET/PREFIX");
  return { ...o, vertex };
}
