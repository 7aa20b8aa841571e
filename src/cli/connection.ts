/**
 * Where the CLI talks to: the real service (key from the environment), a base
 * URL from GOOGLE_GEMINI_BASE_URL (an emulator elsewhere), or the embedded
 * emulator started in this process with --emulator.
 */
import { CliUsageError } from './errors.js';
import { connectVertex, type BackendFlags } from './vertex-connection.js';

export interface Connection {
  /** Undefined: the library reads the environment itself (GOOGLE_API_KEY, else GEMINI_API_KEY). */
  apiKey?: string;
  baseUrl?: string;
  /** Human description for logs ("the embedded emulator", a URL); never the key. */
  target: string;
  /** With --backend vertex: where its jobs and objects go. */
  vertex?: { project: string; location?: string; bucket: string };
  close(): Promise<void>;
}

function env(name: string): string | undefined {
  const v = process.env[name];
  return v && v.trim() !== '' ? v.trim() : undefined;
}

export const NO_KEY_MESSAGE =
  'no API key: set GEMINI_API_KEY (or GOOGLE_API_KEY) to use the Gemini API, or pass --emulator to run against the local emulator';

export async function connect(opts: { emulator?: boolean } & BackendFlags): Promise<Connection> {
  if (opts.backend === 'vertex') return connectVertex(opts);
  const vertexOnly = (['project', 'location', 'bucket'] as const).find((k) => opts[k] !== undefined);
  if (vertexOnly) throw new CliUsageError(`--${vertexOnly} is for Vertex AI: add --backend vertex`);
  if (opts.emulator) {
    // Only --emulator runs load the service (~17 MB): a run against the real one never does.
    const { startEmulator } = await import('../emulator/index.js');
    const emu = await startEmulator({ port: 0 });
    // A placeholder key, so a real key in the environment is never sent to the emulator.
    return { apiKey: 'emulator', baseUrl: emu.url, target: `the embedded emulator (${emu.url})`, close: () => emu.close() };
  }
  const baseUrl = env('GOOGLE_GEMINI_BASE_URL');
  const hasKey = env('GOOGLE_API_KEY') !== undefined || env('GEMINI_API_KEY') !== undefined;
  if (!hasKey && !baseUrl) throw new CliUsageError(NO_KEY_MESSAGE);
  if (baseUrl && !URL.canParse(baseUrl)) throw new CliUsageError(`GOOGLE_GEMINI_BASE_URL is not a URL: ${baseUrl}`);
  return { baseUrl, target: baseUrl ?? 'the Gemini API', close: async () => undefined };
}
