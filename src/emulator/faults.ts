/**
 * Every fault decision, drawn from one seeded PRNG so a run is repeatable.
 * The handlers ask; this module only decides.
 */
import type { EmulatorOptions, EmulatorRoute } from './types.js';
import { mulberry32, type Rng } from './prng.js';
import { HttpError } from './wire.js';

export type JobFate = 'succeed' | 'fail' | 'expire';

/** A per-request error as the service writes it: google.rpc.Status with a gRPC code, no status string. */
export interface RequestFault {
  code: number;
  message: string;
}

/** The transient gRPC codes the service's per-request errors carry, weighted like the reports (mostly 13). */
const REQUEST_FAULTS: readonly (RequestFault & { p: number })[] = [
  { p: 0.6, code: 13, message: 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting' },
  { p: 0.15, code: 14, message: 'The service is currently unavailable.' },
  { p: 0.15, code: 8, message: 'Resource has been exhausted (e.g. check quota).' },
  { p: 0.1, code: 4, message: 'Deadline exceeded.' },
];

export class Faults {
  readonly rng: Rng;
  private readonly opts: EmulatorOptions;
  private readonly statuses: number[];
  private downloadCuts = 0;

  constructor(opts: EmulatorOptions) {
    this.opts = opts;
    this.rng = mulberry32(opts.seed ?? 1);
    this.statuses = opts.errorStatuses?.length ? opts.errorStatuses : [429, 500, 503];
  }

  /** An injected HTTP error for this route group, or undefined. Drawn before the handler has any effect. */
  httpError(route: EmulatorRoute): HttpError | undefined {
    const p = this.opts.errorRates?.[route] ?? 0;
    if (p <= 0 || this.rng() >= p) return undefined;
    const code = this.statuses[Math.floor(this.rng() * this.statuses.length)] ?? 503;
    return new HttpError(code, `Injected ${code} on ${route} (emulator fault).`);
  }

  /** Create accepted, answer lost: the job exists but the caller sees a 503. */
  ambiguousCreate(): boolean {
    const p = this.opts.ambiguousCreateRate ?? 0;
    return p > 0 && this.rng() < p;
  }

  /** Decided once, at create, from the job's 1-based creation ordinal. */
  jobFate(ordinal: number): JobFate {
    if (this.hits(this.opts.failJobs, ordinal)) return 'fail';
    if (this.hits(this.opts.expireJobs, ordinal)) return 'expire';
    return 'succeed';
  }

  private hits(spec: number | number[] | undefined, ordinal: number): boolean {
    if (spec === undefined) return false;
    if (Array.isArray(spec)) return spec.includes(ordinal);
    return spec > 0 && this.rng() < spec;
  }

  /** A per-request error (gRPC 13 mostly, else 14, 8 or 4), or undefined. */
  requestError(): RequestFault | undefined {
    const p = this.opts.requestErrorRate ?? 0;
    if (p <= 0 || this.rng() >= p) return undefined;
    let x = this.rng();
    for (const f of REQUEST_FAULTS) {
      if (x < f.p) return { code: f.code, message: f.message };
      x -= f.p;
    }
    return { code: 13, message: REQUEST_FAULTS[0]!.message };
  }

  /**
   * Whether this upload piece is cut: by default the first piece of a session
   * that reaches cutUploadAfterBytes; with cutUploadEvery = n, every nth piece.
   */
  cutPiece(pieceNumber: number, cutsSoFar: number): number | undefined {
    const after = this.opts.cutUploadAfterBytes;
    if (after === undefined || after < 0) return undefined;
    const every = this.opts.cutUploadEvery;
    if (every !== undefined && every > 0) return pieceNumber % every === 0 ? after : undefined;
    return cutsSoFar === 0 ? after : undefined;
  }

  /**
   * Whether this download answer is cut, and after how many of its `bytes`:
   * the first cutDownloadTimes (default 1) answers longer than
   * cutDownloadAfterBytes are cut there, a resumed one (Range) included.
   */
  cutDownload(bytes: number): number | undefined {
    const after = this.opts.cutDownloadAfterBytes;
    if (after === undefined || after < 0 || bytes <= after) return undefined;
    if (this.downloadCuts >= (this.opts.cutDownloadTimes ?? 1)) return undefined;
    this.downloadCuts++;
    return after;
  }
}
