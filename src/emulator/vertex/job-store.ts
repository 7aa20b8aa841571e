/**
 * Vertex batch jobs by id: create (the body checked like the service checks
 * it), get, list with filter and pages, cancel, delete. Running them is the
 * runner's job.
 */
import { randomBytes } from 'node:crypto';
import type { Context } from '../context.js';
import { HttpError, invalid, isRecord, notFound } from '../wire.js';
import { ENDED, type JobFate, type VertexJob } from './job.js';

const LABEL = /^[a-z][a-z0-9_-]{0,62}$/;
const LABEL_VALUE = /^[a-z0-9_-]{0,63}$/;
const MODEL = /^(?:projects\/[^/]+\/locations\/[^/]+\/)?(?:publishers\/google\/models|models)\/([^/@]+)(?:@[^/]+)?$/;

/** 19 digits, never starting with 0, from crypto (two emulators over one dataDir must not collide). */
function jobId(): string {
  const n = randomBytes(8).readBigUInt64BE() % 9_000_000_000_000_000_000n;
  return String(1_000_000_000_000_000_000n + n);
}

function gsUri(v: unknown, what: string): string {
  if (typeof v !== 'string' || !/^gs:\/\/[^/]+\/.+/.test(v)) throw invalid(`${what} must be a gs://bucket/object URI, got ${JSON.stringify(v)}.`);
  return v;
}

function labelsOf(v: unknown): Record<string, string> {
  if (v === undefined) return {};
  if (!isRecord(v)) throw invalid('labels must be a map of strings.');
  const out: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) {
    if (!LABEL.test(k) || typeof x !== 'string' || !LABEL_VALUE.test(x)) {
      throw invalid(
        `Invalid label ${JSON.stringify(k)}: ${JSON.stringify(x)}. Keys and values use lowercase letters, digits, _ and - (at most 63 characters; keys start with a letter).`,
      );
    }
    out[k] = x;
  }
  if (Object.keys(out).length > 64) throw invalid('At most 64 labels per job.');
  return out;
}

export class JobStore {
  private readonly jobs = new Map<string, VertexJob>();
  private readonly ctx: Context;
  private seq = 0;

  constructor(ctx: Context) {
    this.ctx = ctx;
  }

  create(parent: string, body: unknown): VertexJob {
    if (!isRecord(body)) throw invalid('The request body must be a BatchPredictionJob.');
    const displayName = body.displayName ?? body.display_name;
    if (typeof displayName !== 'string' || displayName === '') throw invalid('displayName is required.');
    const model = body.model;
    const mm = typeof model === 'string' ? MODEL.exec(model) : null;
    if (!mm) throw invalid(`model must be publishers/google/models/{model}, got ${JSON.stringify(model)}.`);
    const inputConfig = body.inputConfig ?? body.input_config;
    const outputConfig = body.outputConfig ?? body.output_config;
    if (!isRecord(inputConfig)) throw invalid('inputConfig is required.');
    if (!isRecord(outputConfig)) throw invalid('outputConfig is required.');
    const source = inputConfig.gcsSource ?? inputConfig.gcs_source;
    if (!isRecord(source)) throw invalid('inputConfig.gcsSource is required (the emulator serves Cloud Storage input only).');
    const format = inputConfig.instancesFormat ?? inputConfig.instances_format;
    if (format !== 'jsonl') throw invalid(`inputConfig.instancesFormat must be "jsonl", got ${JSON.stringify(format)}.`);
    const uris = source.uris;
    if (!Array.isArray(uris) || uris.length === 0) throw invalid('inputConfig.gcsSource.uris must list at least one gs:// URI.');
    const dest = outputConfig.gcsDestination ?? outputConfig.gcs_destination;
    if (!isRecord(dest)) throw invalid('outputConfig.gcsDestination is required (the emulator serves Cloud Storage output only).');
    const outFormat = outputConfig.predictionsFormat ?? outputConfig.predictions_format;
    if (outFormat !== 'jsonl') throw invalid(`outputConfig.predictionsFormat must be "jsonl", got ${JSON.stringify(outFormat)}.`);
    const prefix = gsUri(dest.outputUriPrefix ?? dest.output_uri_prefix, 'outputConfig.gcsDestination.outputUriPrefix');

    const t = this.ctx.now();
    const ordinal = ++this.seq;
    const j: VertexJob = {
      id: jobId(),
      seq: ordinal,
      ordinal,
      parent,
      displayName,
      model: model as string,
      modelId: mm[1]!,
      labels: labelsOf(body.labels),
      inputConfig,
      outputConfig,
      inputUris: uris.map((u, i) => gsUri(u, `inputConfig.gcsSource.uris[${i}]`)),
      outputPrefix: prefix.replace(/\/+$/, ''),
      state: 'QUEUED',
      createTime: t,
      updateTime: t,
      startTime: undefined,
      endTime: undefined,
      error: undefined,
      outputDir: undefined,
      outputInfoHiddenPolls: 0,
      successful: 0,
      failed: 0,
      incomplete: 0,
      fate: this.fate(ordinal),
      cancelRequested: false,
      deleted: false,
      timers: [],
    };
    this.jobs.set(j.id, j);
    return j;
  }

  private fate(ordinal: number): JobFate {
    const hits = (spec: number | number[] | undefined): boolean =>
      spec !== undefined && (Array.isArray(spec) ? spec.includes(ordinal) : spec > 0 && this.ctx.faults.rng() < spec);
    if (hits(this.ctx.options.vertexFailJobs)) return 'fail';
    if (hits(this.ctx.options.vertexExpireJobs)) return 'expire';
    return 'succeed';
  }

  get(parent: string, id: string): VertexJob {
    const j = this.jobs.get(id);
    if (!j || j.deleted || j.parent !== parent) throw notFound(`BatchPredictionJob ${parent}/batchPredictionJobs/${id}`);
    return j;
  }

  /** What list shows: this parent's jobs, each only listLagMs after its create (how soon is unknown on the service). */
  listed(parent: string): VertexJob[] {
    const shownBefore = this.ctx.now() - this.ctx.settings.listLagMs;
    return [...this.jobs.values()].filter((j) => !j.deleted && j.parent === parent && j.createTime <= shownBefore);
  }

  /** Moves a job to an end state (once), stops its timers. */
  finish(j: VertexJob, state: 'SUCCEEDED' | 'FAILED' | 'CANCELLED' | 'EXPIRED' | 'PARTIALLY_SUCCEEDED'): void {
    if (ENDED.has(j.state)) return;
    for (const t of j.timers) clearTimeout(t);
    j.timers = [];
    const t = this.ctx.now();
    j.state = state;
    j.updateTime = t;
    j.endTime = t;
    j.outputInfoHiddenPolls = this.ctx.options.vertexOutputInfoHiddenPolls ?? 1;
  }

  /** Only a job that has ended can be deleted (the service refuses a live one). */
  delete(parent: string, id: string): VertexJob {
    const j = this.get(parent, id);
    if (!ENDED.has(j.state)) {
      throw new HttpError(400, `The BatchPredictionJob ${id} is in state JOB_STATE_${j.state}; cancel it and wait for it to end before deleting it.`, {
        status: 'FAILED_PRECONDITION',
      });
    }
    j.deleted = true;
    this.jobs.delete(id);
    return j;
  }

  closeAll(): void {
    for (const j of this.jobs.values()) {
      for (const t of j.timers) clearTimeout(t);
      j.cancelRequested = true;
    }
  }
}
