/**
 * What the user sees on stderr while a run goes: a live line on a terminal,
 * a plain line every few seconds in logs and CI, JSON events for machines,
 * or nothing (--quiet). stdout is never touched: it may be the results.
 */
import type { JobEvent, ProgressSnapshot } from '../types.js';
import { describeError, errorCode, redact } from './errors.js';
import { duration, int, jobStates, mb } from './format.js';
import { formatSummary, type Summary } from './summary.js';

export type ReporterMode = 'tty' | 'log' | 'json' | 'quiet';

export function chooseMode(
  flags: { quiet?: boolean; json?: boolean },
  stream: { isTTY?: boolean } = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): ReporterMode {
  if (flags.json) return 'json';
  if (flags.quiet) return 'quiet';
  const ci = env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0';
  return stream.isTTY && !ci ? 'tty' : 'log';
}

/** The live counters a status line is drawn from. */
export class RunView {
  readonly startedAt = Date.now();
  progress: ProgressSnapshot | undefined;
  written = 0;
  resumed = 0;
  inputDone = false;
  /** When `written` last grew: the ETA is measured up to then. */
  private writtenAt = this.startedAt;
  private readonly batchNames = new Set<string>();

  get batches(): number {
    return this.batchNames.size;
  }

  onJob(e: JobEvent): void {
    if (e.batchName) this.batchNames.add(e.batchName);
  }

  onWritten(total: number, now = Date.now()): void {
    if (total !== this.written) this.writtenAt = now;
    this.written = total;
  }

  /**
   * ms left, once the input is all read and results are flowing: the rate of
   * the work completed so far (results written, over the whole run up to the
   * last one, not since the first: results land a batch at a time), less the
   * time since that last result. So it counts down while batches wait, and
   * moves only when results come in.
   */
  eta(now = Date.now()): number | undefined {
    if (!this.inputDone || !this.progress || this.written === 0) return undefined;
    const left = this.progress.recordsIn - this.resumed - this.written;
    if (left <= 0) return 0;
    const msPerResult = Math.max(1, this.writtenAt - this.startedAt) / this.written;
    return Math.max(0, left * msPerResult - (now - this.writtenAt));
  }

  /**
   * The status line, at most `width` characters: results, elapsed time and
   * ETA first; then what is read, the batches and the bytes uploaded, each
   * kept only while it fits whole.
   */
  line(now = Date.now(), width = Number.POSITIVE_INFINITY): string {
    const p = this.progress;
    const eta = this.eta(now);
    const total = this.inputDone && p ? ` of ${int(p.recordsIn - this.resumed)}` : '';
    const uploaded = p?.bytesUploaded ?? 0;
    const parts = [
      `results ${int(this.written)}${total}`,
      duration(now - this.startedAt),
      ...(eta === undefined ? [] : [eta > 0 ? `ETA ${duration(eta)}` : 'ETA any moment']),
      `read ${int(p?.recordsIn ?? 0)}${this.inputDone ? ' (all)' : ''}`,
      `batches: ${jobStates(p?.jobs ?? {})}`,
      // Inline runs upload nothing: no "0.0 MB uploaded".
      ...(uploaded > 0 ? [`${mb(uploaded)} uploaded`] : []),
    ];
    let text = '';
    for (const part of parts) {
      const next = text === '' ? part : `${text} · ${part}`;
      if (next.length > width) return text === '' ? `${part.slice(0, Math.max(0, width - 1))}…` : text;
      text = next;
    }
    return text;
  }
}

export interface Reporter {
  readonly view: RunView;
  notice(message: string): void;
  progress(p: ProgressSnapshot): void;
  job(e: JobEvent): void;
  summary(s: Summary): void;
  fatal(err: unknown): void;
  stop(): void;
}

type Write = (text: string) => void;
const stderrWrite: Write = (t) => void process.stderr.write(t);

class BaseReporter implements Reporter {
  readonly view = new RunView();
  constructor(protected readonly write: Write) {}
  notice(message: string): void {
    this.write(`gemini-batch: ${redact(message)}\n`);
  }
  progress(p: ProgressSnapshot): void {
    this.view.progress = p;
  }
  job(e: JobEvent): void {
    this.view.onJob(e);
  }
  summary(s: Summary): void {
    this.write(`${formatSummary(s)}\n`);
  }
  fatal(err: unknown): void {
    this.write(`${describeError(err)}\n`);
  }
  stop(): void {}
}

class QuietReporter extends BaseReporter {
  override notice(): void {}
  override summary(): void {}
}

/** Plain lines every few seconds: readable in a CI log, no control characters. */
class LogReporter extends BaseReporter {
  private readonly timer: NodeJS.Timeout;
  constructor(write: Write, everyMs: number) {
    super(write);
    this.timer = setInterval(() => this.write(`gemini-batch: ${this.view.line()}\n`), everyMs);
    this.timer.unref();
  }
  override job(e: JobEvent): void {
    super.job(e);
    // Trouble is worth a line of its own; routine state changes are in the periodic line.
    if (e.state === 'FAILED' || e.state === 'EXPIRED' || e.state === 'CANCELLED' || e.state === 'RESUBMITTING') {
      this.write(`gemini-batch: batch ${e.batchName ?? `(chunk ${e.chunk})`} ${e.state.toLowerCase()}${e.detail ? `: ${redact(e.detail)}` : ''}\n`);
    }
  }
  override stop(): void {
    clearInterval(this.timer);
  }
}

/** One line redrawn in place. */
class TtyReporter extends BaseReporter {
  private readonly timer: NodeJS.Timeout;
  private drawn = false;
  constructor(
    write: Write,
    private readonly columns: () => number,
  ) {
    super(write);
    // Redraw on a clock too, so elapsed time moves while a batch sits in PENDING.
    this.timer = setInterval(() => this.draw(), 250);
    this.timer.unref();
  }
  private draw(): void {
    // One column spare: a line exactly as wide as the terminal wraps on some terminals.
    this.write(`\r\x1b[2K${this.view.line(Date.now(), Math.max(20, this.columns() - 1))}`);
    this.drawn = true;
  }
  private clear(): void {
    if (this.drawn) this.write('\r\x1b[2K');
    this.drawn = false;
  }
  override progress(p: ProgressSnapshot): void {
    super.progress(p);
    this.draw();
  }
  override notice(message: string): void {
    this.clear();
    super.notice(message);
  }
  override summary(s: Summary): void {
    this.clear();
    super.summary(s);
  }
  override fatal(err: unknown): void {
    this.clear();
    super.fatal(err);
  }
  override stop(): void {
    clearInterval(this.timer);
    this.clear();
  }
}

/** One JSON object per line: {"event": "progress" | "job" | "notice" | "summary" | "error", …}. */
class JsonReporter extends BaseReporter {
  private emit(event: string, body: object): void {
    this.write(`${redact(JSON.stringify({ event, time: new Date().toISOString(), ...body }))}\n`);
  }
  override notice(message: string): void {
    this.emit('notice', { message });
  }
  override progress(p: ProgressSnapshot): void {
    super.progress(p);
    this.emit('progress', { ...p, resultsWritten: this.view.written, resumed: this.view.resumed, elapsedMs: Date.now() - this.view.startedAt });
  }
  override job(e: JobEvent): void {
    super.job(e);
    this.emit('job', e);
  }
  override summary(s: Summary): void {
    this.emit('summary', s);
  }
  override fatal(err: unknown): void {
    const message = describeError(err).replace(/^gemini-batch: /, '');
    this.emit('error', { code: errorCode(err) ?? 'ERR_UNEXPECTED', message });
  }
}

export function createReporter(mode: ReporterMode, write: Write = stderrWrite): Reporter {
  switch (mode) {
    case 'json':
      return new JsonReporter(write);
    case 'quiet':
      return new QuietReporter(write);
    case 'tty':
      return new TtyReporter(write, () => process.stderr.columns || 100);
    case 'log':
      return new LogReporter(write, 5_000);
  }
}
