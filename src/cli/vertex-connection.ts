/**
 * `--backend vertex`: where the CLI's Vertex runs talk to. The project,
 * location and bucket come from the flags, else GOOGLE_CLOUD_PROJECT and
 * GOOGLE_CLOUD_LOCATION; credentials are the library's (Application Default
 * Credentials, or GOOGLE_OAUTH_ACCESS_TOKEN). With --emulator the embedded
 * emulator serves both Vertex jobs and Cloud Storage, with a placeholder
 * token so no real credential is ever sent to it.
 */
import { CliUsageError } from './errors.js';

export interface BackendFlags {
  backend?: 'gemini' | 'vertex';
  project?: string;
  location?: string;
  bucket?: string;
}

function env(name: string): string | undefined {
  return process.env[name]?.trim() || undefined;
}

/** The Vertex side of the CLI's Connection (connection.ts). */
export interface VertexConnection {
  target: string;
  vertex: { project: string; location?: string; bucket: string };
  close(): Promise<void>;
}

export async function connectVertex(f: BackendFlags & { emulator?: boolean }): Promise<VertexConnection> {
  let close = async (): Promise<void> => undefined;
  let target = 'Vertex AI';
  if (f.emulator) {
    const { startEmulator } = await import('../emulator/index.js');
    const emu = await startEmulator({ port: 0 });
    process.env.GOOGLE_VERTEX_BASE_URL = emu.url;
    process.env.STORAGE_EMULATOR_HOST = emu.url;
    process.env.GOOGLE_OAUTH_ACCESS_TOKEN = 'emulator-token';
    target = `the embedded emulator (${emu.url})`;
    close = () => emu.close();
  }
  const project = f.project ?? env('GOOGLE_CLOUD_PROJECT') ?? (f.emulator ? 'emulator' : undefined);
  const bucket = f.bucket ?? (f.emulator ? 'gs://emulator-bucket/gemini-batch' : undefined);
  if (!project) {
    await close();
    throw new CliUsageError('--backend vertex needs a Google Cloud project: pass --project or set GOOGLE_CLOUD_PROJECT');
  }
  if (!bucket || !/^gs:\/\/[a-z0-9][a-z0-9._-]{1,220}(\/.*)?$/.test(bucket)) {
    await close();
    throw new CliUsageError(`--backend vertex needs --bucket gs://BUCKET/PREFIX for its input and output${bucket ? `, got ${bucket}` : ''}`);
  }
  const location = f.location ?? env('GOOGLE_CLOUD_LOCATION');
  return { target, vertex: { project, bucket, ...(location ? { location } : {}) }, close };
}
