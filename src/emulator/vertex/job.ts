/** One Vertex AI batch prediction job, and how it looks on the wire (a BatchPredictionJob). */
import { isoTimeNanos } from '../wire.js';

export type JobState =
  | 'QUEUED'
  | 'PENDING'
  | 'RUNNING'
  | 'SUCCEEDED'
  | 'FAILED'
  | 'CANCELLING'
  | 'CANCELLED'
  | 'PAUSED'
  | 'EXPIRED'
  | 'UPDATING'
  | 'PARTIALLY_SUCCEEDED';

export const ENDED: ReadonlySet<JobState> = new Set<JobState>(['SUCCEEDED', 'FAILED', 'CANCELLED', 'EXPIRED', 'PARTIALLY_SUCCEEDED']);

export type JobFate = 'succeed' | 'fail' | 'expire';

export interface VertexJob {
  /** 19 digits, like the service's. */
  id: string;
  seq: number;
  /** 1-based creation ordinal: vertexFailJobs / vertexExpireJobs lists refer to it. */
  ordinal: number;
  /** projects/{p}/locations/{l} */
  parent: string;
  displayName: string;
  /** As sent, e.g. publishers/google/models/gemini-2.5-flash. */
  model: string;
  /** The bare model id (gemini-2.5-flash), what the responder is told. */
  modelId: string;
  labels: Record<string, string>;
  inputConfig: Record<string, unknown>;
  outputConfig: Record<string, unknown>;
  inputUris: string[];
  /** gs://bucket/prefix, no trailing slash. */
  outputPrefix: string;
  state: JobState;
  createTime: number;
  updateTime: number;
  startTime: number | undefined;
  endTime: number | undefined;
  error: { code: number; message: string } | undefined;
  /** gs://… of the directory the job wrote, once it has. */
  outputDir: string | undefined;
  /** Terminal GETs still to answer without outputInfo. */
  outputInfoHiddenPolls: number;
  successful: number;
  failed: number;
  /** -1 = unknown. */
  incomplete: number;
  fate: JobFate;
  cancelRequested: boolean;
  deleted: boolean;
  timers: NodeJS.Timeout[];
}

export function jobName(j: VertexJob): string {
  return `${j.parent}/batchPredictionJobs/${j.id}`;
}

/** int64 counters go out as strings, zero ones not at all (proto3 JSON). */
function completionStats(j: VertexJob): Record<string, string> {
  const s: Record<string, string> = {};
  if (j.successful !== 0) s.successfulCount = String(j.successful);
  if (j.failed !== 0) s.failedCount = String(j.failed);
  if (j.incomplete !== 0) s.incompleteCount = String(j.incomplete);
  return s;
}

export function toWire(j: VertexJob): Record<string, unknown> {
  const out: Record<string, unknown> = {
    name: jobName(j),
    displayName: j.displayName,
    model: j.model,
    inputConfig: j.inputConfig,
    outputConfig: j.outputConfig,
    state: `JOB_STATE_${j.state}`,
  };
  if (j.error) out.error = j.error;
  out.createTime = isoTimeNanos(j.createTime);
  if (j.startTime !== undefined) out.startTime = isoTimeNanos(j.startTime);
  if (j.endTime !== undefined) out.endTime = isoTimeNanos(j.endTime);
  out.updateTime = isoTimeNanos(j.updateTime);
  if (Object.keys(j.labels).length > 0) out.labels = j.labels;
  if (j.outputDir !== undefined && (!ENDED.has(j.state) || j.outputInfoHiddenPolls <= 0)) {
    out.outputInfo = { gcsOutputDirectory: j.outputDir };
  }
  if (j.startTime !== undefined || ENDED.has(j.state)) out.completionStats = completionStats(j);
  out.modelVersionId = '1';
  return out;
}
