/**
 * Vertex AI batch prediction behind the seam (src/backend/types.ts): input
 * as Cloud Storage objects `gs://<bucket>/<prefix>/<runId>/<part>.jsonl`
 * (resumable, create-only uploads), batchPredictionJobs as the job service,
 * the job's output directory as the result source (rows rewritten into the
 * canonical result lines while they are fetched). Limits: 200,000 requests
 * and 1 GB per job, no inline input, no token quota (jobs queue), no webhooks.
 */
import { GeminiApiError } from '../../backend/service-error.js';
import type { BatchBackend } from '../../backend/types.js';
import { GeminiBatchError } from '../../errors.js';
import { crashPoint } from '../../failpoints.js';
import { Slots } from '../../internal/concurrency/bounded.js';
import type { RetryOptions } from '../gemini/types.js';
import { tokenSource, type GetAccessToken } from './auth.js';
import { vertexWire } from './codec.js';
import { Gcs, gsUri, parseGsUri, storageBase } from './gcs.js';
import { VertexHttp } from './http.js';
import { createVertexJobs } from './jobs.js';
import { fetchVertexResults } from './output.js';

export const VERTEX_LIMITS = {
  maxRequestsPerJob: 200_000,
  maxInputBytes: 1_000_000_000,
  tokenQuota: false,
  webhooks: false,
} as const;

export const DEFAULT_VERTEX_LOCATION = 'us-central1';

/** Downloads at once (as on the Developer API: local disk is the bottleneck). */
const DOWNLOADS_AT_ONCE = 2;

export interface VertexBackendOptions {
  /** Else GOOGLE_CLOUD_PROJECT. */
  project?: string;
  /** Else GOOGLE_CLOUD_LOCATION, else us-central1; `global` uses the global endpoint. */
  location?: string;
  /** Where input and output objects go: `gs://bucket/prefix`. */
  bucket?: string;
  /** A fresh OAuth2 access token (else GOOGLE_OAUTH_ACCESS_TOKEN, else Application Default Credentials). */
  getAccessToken?: GetAccessToken;
  /** Vertex endpoint (else GOOGLE_VERTEX_BASE_URL, else the location's). */
  baseUrl?: string;
  /** Cloud Storage endpoint (else STORAGE_EMULATOR_HOST, else storage.googleapis.com). */
  storageBaseUrl?: string;
  retry?: RetryOptions;
  env?: NodeJS.ProcessEnv;
}

/** The Vertex endpoint with its version: the override, else the location's host. */
export function vertexApiBase(location: string, override?: string): string {
  const base = override?.trim() || (location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`);
  return `${base.replace(/\/+$/, '')}/v1`;
}

/** `<runId>-<label>` (InputStore.put's name) as `<runId>/<label>`: the label is a chunk number with its suffixes. */
export function objectPathOf(name: string): string {
  const m = /^(.+)-(\d+(?:-a\d+)?(?:\.[a-z0-9]+)*)$/.exec(name);
  return m ? `${m[1]}/${m[2]}` : name;
}

export interface ResolvedVertexTarget {
  project: string;
  location: string;
  bucket: string;
  prefix: string;
}

/** The project, location and bucket from the options and the environment; one sentence when one is missing. */
export function resolveVertexTarget(opts: VertexBackendOptions, env: NodeJS.ProcessEnv = process.env): ResolvedVertexTarget {
  const project = opts.project?.trim() || env.GOOGLE_CLOUD_PROJECT?.trim();
  if (!project) throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'vertex: no Google Cloud project (give vertex.project / --project, or set GOOGLE_CLOUD_PROJECT)');
  const location = opts.location?.trim() || env.GOOGLE_CLOUD_LOCATION?.trim() || DEFAULT_VERTEX_LOCATION;
  if (!/^[a-z0-9-]+$/.test(location)) throw new GeminiBatchError('ERR_INVALID_OPTIONS', `vertex: location ${JSON.stringify(location)} is not a Google Cloud location such as us-central1 or global`);
  const uri = opts.bucket?.trim();
  if (!uri) throw new GeminiBatchError('ERR_INVALID_OPTIONS', 'vertex: no Cloud Storage bucket for input and output (give vertex.bucket / --bucket as gs://BUCKET/PREFIX)');
  if (!/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}(\/.*)?$/.test(uri)) {
    throw new GeminiBatchError('ERR_INVALID_OPTIONS', `vertex: bucket must be gs://BUCKET or gs://BUCKET/PREFIX, got ${JSON.stringify(uri)}`);
  }
  const { bucket, name } = parseGsUri(uri);
  return { project, location, bucket, prefix: name.replace(/^\/+|\/+$/g, '') };
}

export function createVertexBackend(opts: VertexBackendOptions = {}): BatchBackend & { target: ResolvedVertexTarget; gcs: Gcs; http: VertexHttp } {
  const env = opts.env ?? process.env;
  const target = resolveVertexTarget(opts, env);
  const http = new VertexHttp(tokenSource(opts.getAccessToken, env, target.project), opts.retry);
  const gcs = new Gcs(http, opts.storageBaseUrl?.replace(/\/+$/, '') || storageBase(env));
  const root = target.prefix ? `${target.prefix}/` : '';
  const jobs = createVertexJobs({
    http,
    apiBase: vertexApiBase(target.location, opts.baseUrl ?? env.GOOGLE_VERTEX_BASE_URL),
    parent: `projects/${target.project}/locations/${target.location}`,
    outputBase: gsUri(target.bucket, root.replace(/\/$/, '')),
  });
  const downloads = new Slots(DOWNLOADS_AT_ONCE);
  const bestEffortDelete = async (ref: string, signal?: AbortSignal) => {
    const { bucket, name } = parseGsUri(ref);
    try {
      await gcs.delete(bucket, name, signal);
    } catch (err) {
      // A leftover object stays the user's, in their own bucket.
      if (!(err instanceof GeminiApiError)) throw err;
    }
  };

  return {
    name: 'vertex',
    target,
    gcs,
    http,
    limits: VERTEX_LIMITS,
    wire: vertexWire,
    input: {
      put: async (spoolPath, name, hooks) => {
        const objectName = `${root}${objectPathOf(name)}.jsonl`;
        const obj = await gcs.upload(spoolPath, target.bucket, objectName, {
          ...hooks,
          onBytes: (n) => {
            crashPoint('upload-piece');
            hooks.onBytes?.(n);
          },
        });
        return gsUri(target.bucket, obj.name || objectName);
      },
      remove: bestEffortDelete,
      exists: async (ref, signal) => {
        const { bucket, name } = parseGsUri(ref);
        try {
          return (await gcs.stat(bucket, name, signal)) !== undefined;
        } catch (err) {
          if (err instanceof GeminiApiError && err.httpStatus === 403) return false;
          throw err;
        }
      },
    },
    jobs,
    output: {
      fetch: (job, t) => downloads.run(() => fetchVertexResults(gcs, job, t), t.signal),
      remove: bestEffortDelete,
    },
    close: () => http.close(),
  };
}
