/**
 * The demuxer's core for one finished job: indexes its results file by seq
 * (offset + length per request: a few bytes each, never the bodies), then
 * hands out exactly one result per record of the chunk, in seq order.
 * Lines may arrive in any order, twice, or not at all; a success line beats
 * an error line for the same key (so resubmitted requests win), otherwise
 * the first line wins.
 */
import type { BatchTask, Chunk, FinishedJob, KeyedResult, ResultError } from '../../types.js';
import { forEachLineAsync, LineReader, SequentialLines } from '../../internal/io/lines.js';
import { isSuccessLine, readLineKey, type TokenUsage } from '../../internal/wire/wire-line.js';
import { jsonlResult, objectResult } from '../../internal/wire/result-output.js';

const NONE = 0;
/** What an error result made here (invalid record, missing line) weighs, roughly. */
const SMALL_RESULT_BYTES = 200;
const ERROR = 1;
const SUCCESS = 2;

export type DemuxOutput = KeyedResult | Buffer;

export interface JobResultsOptions {
  task?: BatchTask;
  output?: 'objects' | 'jsonl';
  /** Skip results below this seq (emitted by an earlier run). */
  skipBelow?: number;
  /** Token usage of each response read (nested usageMetadata, the same in both output modes). */
  onTokens?: (usage: TokenUsage) => void;
  /** Called once per result handed out, with its error if it is one (jsonl output too: no caller re-reads the bytes). */
  onResult?: (error: ResultError | undefined) => void;
}

export class JobResults {
  private readonly chunk: Chunk;
  private readonly offsets: Float64Array;
  private readonly lengths: Int32Array;
  private readonly kinds: Uint8Array;
  private reader: LineReader | undefined;
  private spool: SequentialLines | undefined;
  private i: number;
  private invalidAt = 0;
  /** Results found in the file that matched no request of this chunk. */
  strayLines = 0;
  missing = 0;

  constructor(
    private readonly job: FinishedJob,
    private readonly opts: JobResultsOptions = {},
  ) {
    this.chunk = job.chunk;
    const n = this.chunk.count;
    this.offsets = new Float64Array(n);
    this.lengths = new Int32Array(n);
    this.kinds = new Uint8Array(n);
    this.i = Math.max(0, (opts.skipBelow ?? 0) - this.chunk.firstSeq);
    while (this.invalidAt < this.chunk.invalid.length && this.chunk.invalid[this.invalidAt]!.seq < this.chunk.firstSeq + this.i) {
      this.invalidAt++;
    }
  }

  /** Pass over the results file, remembering where each request's line is. */
  async index(): Promise<void> {
    if (!this.job.resultsPath || this.i >= this.chunk.count) return;
    const { firstSeq, count } = this.chunk;
    try {
      await forEachLineAsync(this.job.resultsPath, (line, offset) => {
        const k = readLineKey(line);
        const i = k ? k.seq - firstSeq : -1;
        if (!k || i < 0 || i >= count) {
          this.strayLines++;
          return;
        }
        const kind = isSuccessLine(line, k.keyEnd) ? SUCCESS : ERROR;
        if (this.kinds[i] === NONE || (this.kinds[i] === ERROR && kind === SUCCESS)) {
          this.kinds[i] = kind;
          this.offsets[i] = offset;
          this.lengths[i] = line.length;
        }
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    this.reader = this.kinds.some((k) => k !== NONE) ? new LineReader(this.job.resultsPath) : undefined;
  }

  get done(): boolean {
    return this.i >= this.chunk.count;
  }

  /**
   * Up to `max` next results in seq order, fewer once their result lines
   * reach `maxBytes` (at least one); an empty array once done. `sizes`, when
   * given, receives each result's line size (answers with images are
   * megabytes: the caller bounds what it holds by bytes, not by count).
   */
  next(max: number, maxBytes = Infinity, sizes?: number[]): DemuxOutput[] {
    const out: DemuxOutput[] = [];
    const { firstSeq, count, invalid } = this.chunk;
    let bytes = 0;
    while (out.length < max && bytes < maxBytes && this.i < count) {
      const size = this.kinds[this.i] !== NONE ? this.lengths[this.i]! : SMALL_RESULT_BYTES;
      bytes += size;
      sizes?.push(size);
      const seq = firstSeq + this.i;
      const inv = invalid[this.invalidAt];
      if (inv && inv.seq === seq) {
        this.invalidAt++;
        this.opts.onResult?.(inv.error);
        out.push(this.format({ key: inv.key, error: inv.error }));
      } else if (this.kinds[this.i] !== NONE) {
        out.push(this.fromLine(this.reader!.read(this.offsets[this.i]!, this.lengths[this.i]!)));
      } else {
        this.missing++;
        const error: ResultError = this.job.failure ?? {
          code: 500,
          status: 'MISSING_RESULT',
          message: 'the service returned no result for this request',
        };
        this.opts.onResult?.(error);
        out.push(this.format({ key: this.keyFromSpool(seq), error }));
      }
      this.i++;
    }
    return out;
  }

  close(): void {
    this.reader?.close();
    this.spool?.close();
    this.reader = undefined;
    this.spool = undefined;
  }

  private keyFromSpool(seq: number): string {
    this.spool ??= new SequentialLines(this.chunk.spoolPath);
    for (let line = this.spool.next(); line; line = this.spool.next()) {
      const k = readLineKey(line);
      if (k && k.seq === seq) return k.userKey;
      if (k && k.seq > seq) break;
    }
    return String(seq);
  }

  private format(r: KeyedResult): DemuxOutput {
    return this.opts.output === 'jsonl' ? Buffer.from(JSON.stringify(r) + '\n') : r;
  }

  private fromLine(line: Buffer): DemuxOutput {
    const key = readLineKey(line)!;
    const task = this.opts.task ?? 'generate';
    // One reading of a line for both output modes: the same result, error naming and tokens.
    const r = this.opts.output === 'jsonl' ? jsonlResult(line, key, task) : objectResult(line, key, task);
    if (r.usage) this.opts.onTokens?.(r.usage);
    this.opts.onResult?.(r.error);
    return r.value;
  }
}
