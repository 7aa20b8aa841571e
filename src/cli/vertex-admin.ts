/**
 * `jobs …` and `files …` with `--backend vertex`: Vertex AI batch prediction
 * jobs of the project and location, and the objects under the bucket's
 * prefix. The flags are the run command's (--project, --location, --bucket;
 * GOOGLE_CLOUD_PROJECT / GOOGLE_CLOUD_LOCATION), the credentials the
 * library's.
 */
import { Option, type Command } from 'commander';
import type { BatchJob } from '../backend/types.js';
import { tokenSource } from '../backends/vertex/auth.js';
import { DEFAULT_VERTEX_LOCATION, vertexApiBase } from '../backends/vertex/backend.js';
import { Gcs, gsUri, parseGsUri, storageBase } from '../backends/vertex/gcs.js';
import { VertexHttp } from '../backends/vertex/http.js';
import { createVertexJobs } from '../backends/vertex/jobs.js';
import { CliUsageError } from './errors.js';
import { mb } from './format.js';
import { table } from './table.js';
import type { BackendFlags } from './vertex-connection.js';

type Print = (text: string) => void;

/** The backend flags on a jobs/files subcommand. */
export function withBackendFlags(cmd: Command): Command {
  return cmd
    .addOption(new Option('--backend <name>', 'gemini (the Developer API) or vertex (Vertex AI)').choices(['gemini', 'vertex']).default('gemini'))
    .option('--project <id>', 'with --backend vertex: the project (default GOOGLE_CLOUD_PROJECT)')
    .option('--location <loc>', `with --backend vertex: the location (default GOOGLE_CLOUD_LOCATION, else ${DEFAULT_VERTEX_LOCATION})`)
    .option('--bucket <gs://B/PREFIX>', 'with --backend vertex (files): the bucket and prefix to look under');
}

const env = (name: string) => process.env[name]?.trim() || undefined;

async function withHttp<T>(f: BackendFlags, fn: (http: VertexHttp) => Promise<T>): Promise<T> {
  // The project (when known) goes to ADC too, so it never looks one up.
  const http = new VertexHttp(tokenSource(undefined, process.env, f.project ?? env('GOOGLE_CLOUD_PROJECT')), { maxElapsedMs: 60_000 });
  try {
    return await fn(http);
  } finally {
    await http.close();
  }
}

function jobsOf(http: VertexHttp, f: BackendFlags) {
  const project = f.project ?? env('GOOGLE_CLOUD_PROJECT');
  if (!project) throw new CliUsageError('--backend vertex needs a Google Cloud project: pass --project or set GOOGLE_CLOUD_PROJECT');
  const location = f.location ?? env('GOOGLE_CLOUD_LOCATION') ?? DEFAULT_VERTEX_LOCATION;
  return createVertexJobs({ http, apiBase: vertexApiBase(location, env('GOOGLE_VERTEX_BASE_URL')), parent: `projects/${project}/locations/${location}`, outputBase: '' });
}

const summarise = (j: BatchJob) => ({ ...j, raw: undefined });

/** `jobs list|get|cancel|delete --backend vertex`. */
export async function vertexJobsCommand(verb: 'list' | 'get' | 'cancel' | 'delete', f: BackendFlags & { limit?: number; json?: boolean; raw?: boolean }, print: Print, name = ''): Promise<void> {
  await withHttp(f, async (http) => {
    const jobs = jobsOf(http, f);
    if (verb === 'get') return print(JSON.stringify(f.raw ? (await jobs.get(name)).raw : summarise(await jobs.get(name)), null, 2));
    if (verb === 'cancel') return (await jobs.cancel(name), print(`cancelled ${name}`));
    if (verb === 'delete') return (await jobs.delete(name), print(`deleted ${name}`));
    const rows: BatchJob[] = [];
    for await (const j of jobs.list()) {
      rows.push(j);
      if (rows.length >= (f.limit ?? 50)) break;
    }
    if (f.json) return print(rows.map((j) => JSON.stringify(summarise(j))).join('\n'));
    if (rows.length === 0) return print('no batch jobs');
    print(table(['NAME', 'STATE', 'DISPLAY NAME', 'CREATED'], rows.map((j) => [j.name, j.wireState ?? j.state, j.displayName ?? '', j.createTime ?? ''])));
  });
}

/** `files list|delete --backend vertex`: objects under --bucket gs://B/PREFIX. */
export async function vertexFilesCommand(verb: 'list' | 'delete', f: BackendFlags & { limit?: number; json?: boolean }, print: Print, name = ''): Promise<void> {
  await withHttp(f, async (http) => {
    const gcs = new Gcs(http, storageBase());
    if (verb === 'delete') {
      const { bucket, name: object } = parseGsUri(name);
      await gcs.delete(bucket, object);
      return print(`deleted ${name}`);
    }
    if (!f.bucket) throw new CliUsageError('files list --backend vertex needs --bucket gs://BUCKET/PREFIX');
    const { bucket, name: prefix } = parseGsUri(f.bucket);
    const rows = [];
    for await (const o of gcs.list(bucket, prefix)) {
      rows.push(o);
      if (rows.length >= (f.limit ?? 100)) break;
    }
    if (f.json) return print(rows.map((o) => JSON.stringify({ uri: gsUri(o.bucket, o.name), size: o.size, generation: o.generation })).join('\n'));
    if (rows.length === 0) return print('no objects');
    print(table(['URI', 'SIZE'], rows.map((o) => [gsUri(o.bucket, o.name), mb(o.size)])));
  });
}
