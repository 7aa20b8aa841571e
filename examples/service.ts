/**
 * Where the examples send their batches: the real Gemini API when
 * GEMINI_API_KEY (or GOOGLE_API_KEY) is set, else an emulator started right
 * here in this process, so every example runs on a fresh clone with no key.
 */
import { startEmulator } from 'gemini-batch-stream/emulator';
import type { GeminiBatchOptions } from 'gemini-batch-stream';

export interface Service {
  real: boolean;
  /** Spread into geminiBatch() options. */
  options: Pick<GeminiBatchOptions, 'apiKey' | 'baseUrl' | 'pollInterval'>;
  describe: string;
  close(): Promise<void>;
}

export async function openService(): Promise<Service> {
  const key = process.env.GOOGLE_API_KEY || process.env.GEMINI_API_KEY;
  if (key && !process.env.GOOGLE_GEMINI_BASE_URL) {
    // The library reads the key from the environment itself; it is never copied around here.
    return { real: true, options: {}, describe: 'the Gemini API (GEMINI_API_KEY is set)', close: async () => undefined };
  }
  if (process.env.GOOGLE_GEMINI_BASE_URL) {
    const url = process.env.GOOGLE_GEMINI_BASE_URL;
    return { real: false, options: { baseUrl: url, pollInterval: { initialMs: 200, maxMs: 2_000 } }, describe: url, close: async () => undefined };
  }
  const emu = await startEmulator({ port: 0 });
  return {
    real: false,
    options: { baseUrl: emu.url, apiKey: 'emulator', pollInterval: { initialMs: 100, maxMs: 1_000 } },
    describe: `the embedded emulator at ${emu.url} (no GEMINI_API_KEY set; answers are canned, nothing is billed)`,
    close: () => emu.close(),
  };
}
