/**
 * Moves Vertex jobs QUEUED (vertexQueueMs) -> PENDING (pendingMs) -> RUNNING
 * (at least runningMs) -> an end state, and runs them: reads every input
 * object from the emulated bucket line by line, answers each `{"request":…}`
 * with the shared responder, and writes the rows shuffled into
 * `{outputUriPrefix}/prediction-model-<time>/`. Memory: one read chunk, the
 * shuffle pool and one batch of rows, whatever the job size.
 */
import { createReadStream } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { Context } from '../context.js';
import { BodyFile } from '../gcs/body-file.js';
import type { GcsObject, ObjectStore } from '../gcs/object-store.js';
import { isoTime } from '../wire.js';
import { ENDED, type VertexJob } from './job.js';
import type { JobStore } from './job-store.js';
import { OutputWriter } from './output-writer.js';
import { answerRow, processedTime, statusText } from './rows.js';
import { ShufflePool } from './shuffle.js';

const NL = 0x0a;
const FLUSH_BYTES = 8 << 20;
export const DEFAULT_MAX_JOB_REQUESTS = 200_000;
export const DEFAULT_MAX_JOB_BYTES = 1_000_000_000;

/** A job that cannot run: it ends FAILED with this google.rpc.Status, no output. */
class JobFailure extends Error {
  readonly code: number;
  constructor(code: number, message: string) {
    super(message);
    this.code = code;
  }
}

export function parseGs(uri: string): { bucket: string; path: string } {
  const m = /^gs:\/\/([^/]+)\/?(.*)$/.exec(uri);
  if (!m) throw new JobFailure(3, `Not a gs:// URI: ${uri}`);
  return { bucket: m[1]!, path: m[2]! };
}

/** `*` matches within one path segment, `**` across them (gsutil's wildcards). */
function globRegExp(pattern: string): RegExp {
  const body = pattern
    .split('**')
    .map((part) => part.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('[^/]*'))
    .join('.*');
  return new RegExp(`^${body}$`);
}

export class VertexRunner {
  private readonly ctx: Context;
  private readonly store: JobStore;
  private readonly objects: ObjectStore;
  private readonly active = new Set<Promise<void>>();

  constructor(ctx: Context, store: JobStore, objects: ObjectStore) {
    this.ctx = ctx;
    this.store = store;
    this.objects = objects;
  }

  private after(j: VertexJob, ms: number, fn: () => void): void {
    const t = setTimeout(fn, ms);
    t.unref();
    j.timers.push(t);
  }

  schedule(j: VertexJob): void {
    this.after(j, this.ctx.options.vertexQueueMs ?? 30, () => {
      if (ENDED.has(j.state) || j.cancelRequested) return;
      if (j.fate === 'expire') {
        // 72 h in the queue, simulated: no output, nothing processed.
        j.incomplete = -1;
        j.error = { code: 4, message: 'The batch prediction job expired after waiting in the queue for 72 hours.' };
        this.store.finish(j, 'EXPIRED');
        return;
      }
      this.move(j, 'PENDING');
      this.after(j, this.ctx.settings.pendingMs, () => this.start(j));
    });
  }

  private move(j: VertexJob, state: 'PENDING' | 'RUNNING' | 'CANCELLING'): void {
    j.state = state;
    j.updateTime = this.ctx.now();
  }

  /** POST :cancel. A job not yet running ends CANCELLED at once (via CANCELLING); a running one exports what it finished first. */
  cancel(j: VertexJob): void {
    if (ENDED.has(j.state)) return;
    j.cancelRequested = true;
    const running = j.state === 'RUNNING';
    this.move(j, 'CANCELLING');
    if (!running) this.after(j, 10, () => this.store.finish(j, 'CANCELLED'));
  }

  private start(j: VertexJob): void {
    if (ENDED.has(j.state) || j.cancelRequested) return;
    this.move(j, 'RUNNING');
    j.startTime = this.ctx.now();
    const p = this.run(j).finally(() => this.active.delete(p));
    this.active.add(p);
  }

  private async run(j: VertexJob): Promise<void> {
    const started = performance.now();
    try {
      if (j.fate === 'fail') {
        await this.waitRest(j, started);
        j.incomplete = -1;
        j.error = { code: 13, message: 'Internal error occurred while running the batch prediction job (injected by the emulator).' };
        this.store.finish(j, 'FAILED');
        return;
      }
      const inputs = this.inputs(j);
      const cutoff = await this.process(j, inputs);
      await this.waitRest(j, started);
      if (j.cancelRequested) this.store.finish(j, 'CANCELLED');
      else if (cutoff) {
        j.error = {
          code: 4,
          message: 'The batch prediction job ran past its 24 hour processing limit; completed rows were exported, the rest were cancelled.',
        };
        this.store.finish(j, 'FAILED');
      } else this.store.finish(j, j.failed > 0 ? 'PARTIALLY_SUCCEEDED' : 'SUCCEEDED');
    } catch (err) {
      if (ENDED.has(j.state)) return;
      j.error = err instanceof JobFailure ? { code: err.code, message: err.message } : { code: 13, message: `Internal error: ${(err as Error).message}` };
      j.incomplete = -1;
      this.store.finish(j, j.cancelRequested ? 'CANCELLED' : 'FAILED');
    }
  }

  /** The job's input objects, wildcards expanded; a missing one or too many bytes fail the job. */
  private inputs(j: VertexJob): GcsObject[] {
    const out: GcsObject[] = [];
    for (const uri of j.inputUris) {
      const { bucket, path } = parseGs(uri);
      const star = path.indexOf('*');
      if (star < 0) {
        const o = this.objects.get(bucket, path);
        if (!o) throw new JobFailure(5, `Failed to read the input: ${uri} does not exist.`);
        out.push(o);
        continue;
      }
      const re = globRegExp(path);
      const found = this.objects.matching(bucket, path.slice(0, star)).filter((o) => re.test(o.name));
      if (found.length === 0) throw new JobFailure(5, `Failed to read the input: no object matches ${uri}.`);
      out.push(...found);
    }
    const max = this.ctx.options.vertexMaxJobBytes ?? DEFAULT_MAX_JOB_BYTES;
    const bytes = out.reduce((n, o) => n + o.size, 0);
    if (bytes > max) throw new JobFailure(3, `The input is ${bytes} bytes; a batch prediction job takes at most ${max} bytes.`);
    return out;
  }

  /** Answers every line, writes the output directory. True when the simulated 24 h cut-off stopped it. */
  private async process(j: VertexJob, inputs: GcsObject[]): Promise<boolean> {
    const { bucket, path } = parseGs(j.outputPrefix);
    const dir = `${path === '' ? '' : `${path}/`}prediction-model-${isoTime(this.ctx.now() + 1)}`;
    const predTmp = this.objects.tmpPath();
    const incTmp = this.objects.tmpPath();
    const writer = new OutputWriter(await BodyFile.open(predTmp), await BodyFile.open(incTmp));
    const pool = new ShufflePool(this.ctx.faults.rng, writer.add);
    const maxRequests = this.ctx.options.vertexMaxJobRequests ?? DEFAULT_MAX_JOB_REQUESTS;
    const cutoffRows = this.ctx.options.vertexCutoffRows;
    let requests = 0;
    let answered = 0;
    let cutoff = false;
    let stopped = false;
    const count = (): boolean => {
      requests++;
      if (requests > maxRequests) throw new JobFailure(3, `The input has more than ${maxRequests} requests, the most a batch prediction job takes.`);
      if (!stopped && j.cancelRequested) stopped = true;
      if (!stopped && cutoffRows !== undefined && answered >= cutoffRows) stopped = cutoff = true;
      if (stopped) j.incomplete++;
      return !stopped;
    };
    const handle = (text: string): void => {
      if (text.trim() === '' || !count()) return;
      const r = answerRow(this.ctx, j, requests, text);
      answered++;
      if (r.ok) j.successful++;
      else j.failed++;
      pool.push(r.line);
    };
    const maxLine = this.ctx.settings.maxLineBytes;
    /** A line past maxLineBytes: a failed row, without ever holding the line. */
    const tooLongRow = (): void => {
      if (!count()) return;
      answered++;
      j.failed++;
      const status = statusText({ code: 3, message: `line ${requests}: longer than ${maxLine} bytes` });
      pool.push(JSON.stringify({ status, processed_time: processedTime(this.ctx.now()), request: {} }));
    };
    try {
      for (const o of inputs) {
        let carry: Buffer[] = [];
        let carryLen = 0;
        let tooLong = false;
        for await (const chunk of createReadStream(o.file, { highWaterMark: 256 << 10 }) as AsyncIterable<Buffer>) {
          let start = 0;
          for (let i = chunk.indexOf(NL); i >= 0; i = chunk.indexOf(NL, start)) {
            if (tooLong) {
              tooLong = false;
              tooLongRow();
            } else if (carryLen > 0) {
              carry.push(chunk.subarray(start, i));
              handle(Buffer.concat(carry).toString('utf8'));
            } else handle(chunk.toString('utf8', start, i));
            carry = [];
            carryLen = 0;
            start = i + 1;
            if (writer.queued > FLUSH_BYTES) await writer.flush();
          }
          if (start < chunk.length && !tooLong) {
            carry.push(chunk.subarray(start));
            carryLen += chunk.length - start;
            if (carryLen > maxLine) {
              tooLong = true;
              carry = [];
              carryLen = 0;
            }
          }
          j.updateTime = this.ctx.now();
          await writer.flush();
        }
        if (tooLong) tooLongRow();
        else if (carryLen > 0) handle(Buffer.concat(carry).toString('utf8'));
      }
      pool.end();
      await writer.drain();
    } catch (err) {
      await writer.settle();
      writer.predictions.file.sums.discard();
      writer.incremental.file.sums.discard();
      this.objects.discard(predTmp);
      this.objects.discard(incTmp);
      throw err;
    } finally {
      await writer.predictions.file.close();
      await writer.incremental.file.close();
    }
    const commit = async (tmp: string, file: BodyFile, name: string): Promise<void> => {
      this.objects.commit(bucket, `${dir}/${name}`, tmp, { size: file.size, contentType: 'application/jsonl', metadata: undefined, ...(await file.sums.digest()) }, null);
    };
    if (writer.incremental.rows > 0) await commit(incTmp, writer.incremental.file, 'incremental_predictions-1.jsonl');
    else {
      writer.incremental.file.sums.discard();
      this.objects.discard(incTmp);
    }
    await commit(predTmp, writer.predictions.file, 'predictions.jsonl');
    j.outputDir = `gs://${bucket}/${dir}`;
    this.ctx.counters.add('resultLines', writer.predictions.rows + writer.incremental.rows);
    return cutoff;
  }

  /** A job stays RUNNING at least runningMs, so pollers see the state even for tiny jobs; a cancel ends the wait. */
  private async waitRest(j: VertexJob, started: number): Promise<void> {
    const rest = this.ctx.settings.runningMs - (performance.now() - started);
    if (rest <= 0 || j.cancelRequested) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, rest);
      t.unref();
      j.timers.push(t);
      const poll = setInterval(() => {
        if (j.cancelRequested) {
          clearInterval(poll);
          clearTimeout(t);
          resolve();
        }
      }, 5);
      poll.unref();
      j.timers.push(poll);
    });
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.active]);
  }
}
