/**
 * A batch service in memory, behind the seam (src/backend/types.ts): the
 * proof that a new backend is a new folder, not edits across the stages. It
 * stores input as bytes, runs a job on its second poll, answers every
 * request with its own text reversed, writes the results in reverse order,
 * and loses one create answer when asked (the job exists; findOurs finds it).
 */
import { appendFile, readFile } from 'node:fs/promises';
import type { BatchBackend, BatchJob, BatchState, JobSpec } from '../../src/backend/types.js';
import { GeminiApiError } from '../../src/backend/service-error.js';

interface Job {
  name: string;
  spec: JobSpec;
  state: BatchState;
  polls: number;
  results?: Buffer;
}

export interface MemoryBackendKnobs {
  /** The first create's answer is lost after the job was made (an ambiguous 503). */
  loseFirstCreateAnswer?: boolean;
  /** Most requests per job (small values make many jobs). */
  maxRequestsPerJob?: number;
}

export function memoryBackend(knobs: MemoryBackendKnobs = {}) {
  const inputs = new Map<string, Buffer>();
  const jobs = new Map<string, Job>();
  const counts = { puts: 0, creates: 0, removes: 0 };
  let lose = knobs.loseFirstCreateAnswer ?? false;

  const view = (j: Job): BatchJob => ({
    name: j.name,
    state: j.state,
    displayName: j.spec.displayName,
    done: j.state === 'SUCCEEDED',
    hasOutput: j.results !== undefined,
    raw: j,
  });
  const notFound = (name: string) => new GeminiApiError({ httpStatus: 404, status: 'NOT_FOUND', detail: `${name} not found`, route: 'GET /memory', retryable: false });
  const jobOf = (name: string) => jobs.get(name) ?? Promise.reject(notFound(name));

  /** Run a job: every request line answered with its prompt reversed, the lines in reverse order. */
  const run = (j: Job) => {
    const lines = inputs.get(j.spec.inputRef!)!.toString('utf8').split('\n').filter(Boolean);
    const out = lines.reverse().map((l) => {
      const { key, request } = JSON.parse(l) as { key: string; request: { contents: Array<{ parts: Array<{ text: string }> }> } };
      const text = [...request.contents[0]!.parts[0]!.text].reverse().join('');
      return JSON.stringify({ response: { candidates: [{ content: { role: 'model', parts: [{ text }] } }] }, key });
    });
    j.results = Buffer.from(out.join('\n') + '\n');
    j.state = 'SUCCEEDED';
  };

  const backend: BatchBackend & { counts: typeof counts } = {
    name: 'memory',
    counts,
    limits: { maxRequestsPerJob: knobs.maxRequestsPerJob ?? 1000, maxInputBytes: 1 << 30, tokenQuota: false, webhooks: false },
    wire: {},
    input: {
      put: async (spoolPath, name) => {
        counts.puts++;
        const ref = `mem://${name}`;
        inputs.set(ref, await readFile(spoolPath));
        return ref;
      },
      remove: async (ref) => {
        counts.removes++;
        inputs.delete(ref);
      },
      exists: async (ref) => inputs.has(ref),
    },
    jobs: {
      create: async (spec) => {
        counts.creates++;
        const j: Job = { name: `jobs/${jobs.size + 1}`, spec, state: 'PENDING', polls: 0 };
        jobs.set(j.name, j);
        if (lose) {
          lose = false;
          throw new GeminiApiError({ httpStatus: 503, status: 'UNAVAILABLE', detail: 'answer lost', route: 'POST /memory', retryable: true, ambiguous: true });
        }
        return view(j);
      },
      get: async (name) => view(await jobOf(name)),
      list: () => ({
        async *[Symbol.asyncIterator]() {
          for (const j of jobs.values()) yield view(j);
        },
      }),
      cancel: async (name) => {
        (await jobOf(name)).state = 'CANCELLED';
      },
      delete: async (name) => {
        jobs.delete(name);
      },
      findOurs: async (displayName) => {
        const j = [...jobs.values()].find((x) => x.spec.displayName === displayName);
        return j ? view(j) : undefined;
      },
      wait: async (name, o) => {
        const j = await jobOf(name);
        for (;;) {
          if (++j.polls === 2) run(j);
          o.onState?.(view(j));
          if (j.state === 'SUCCEEDED' || j.state === 'CANCELLED') return view(j);
          await new Promise((r) => setTimeout(r, 1));
        }
      },
      refresh: async (name) => view(await jobOf(name)),
    },
    output: {
      fetch: async (job, target) => {
        const j = await jobOf(job.name);
        await appendFile(target.resultsPath, j.results ?? Buffer.alloc(0));
        return { remote: [] };
      },
      remove: async () => undefined,
    },
    close: async () => undefined,
  };
  return backend;
}

