/** Batches API: create (generate / embed), get, list, cancel, delete. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Task } from './batch.js';
import { toOperation } from './batch.js';
import type { BatchStore, NewBatch } from './batch-store.js';
import type { Context } from './context.js';
import { parseCreate } from './create-request.js';
import { checkModel } from './models.js';
import { fileTokens, inlineTokens } from './quota.js';
import type { JobRunner } from './runner.js';
import { decodePageToken, HttpError, pageSizeOf, paginate, readJson, sendJson } from './wire.js';

export class BatchRoutes {
  private readonly ctx: Context;
  private readonly store: BatchStore;
  private readonly runner: JobRunner;
  /** Files are immutable, so a file's token count is computed once per task (generate / embed count differently). */
  private readonly fileTokens = new Map<string, number>();

  constructor(ctx: Context, store: BatchStore, runner: JobRunner) {
    this.ctx = ctx;
    this.store = store;
    this.runner = runner;
  }

  async create(req: IncomingMessage, res: ServerResponse, model: string, task: Task): Promise<void> {
    // The whole body counts against the inline limit, as the service's 20 MB request cap does.
    const body = await readJson(req, this.ctx.settings.maxInlineBytes);
    checkModel(model, task, this.ctx.options.anyModel === true);
    const spec = parseCreate(body, task, model, this.ctx.files);
    const b = this.store.create(spec, await this.tokensOf(spec));
    this.ctx.counters.created(b.displayName);
    this.runner.schedule(b);
    if (this.ctx.faults.ambiguousCreate()) {
      this.ctx.counters.add('injectedErrors');
      throw new HttpError(503, 'Injected 503 after the batch was created (emulator fault: ambiguous create).');
    }
    sendJson(res, 200, toOperation(b, true, this.prefix));
  }

  private get prefix(): string {
    return this.ctx.options.statePrefix ?? 'BATCH_STATE_';
  }

  /** What the batch weighs against the enqueued-token quota; files are read only when a limit applies. */
  private async tokensOf(spec: NewBatch): Promise<number> {
    if (spec.input.kind === 'inline') return inlineTokens(spec.task, spec.input.requests);
    if (this.store.tokenLimit(spec.model) === undefined) return 0;
    const id = spec.input.fileId;
    // The seq tells a re-uploaded file under the same id from the one counted before.
    const cacheKey = `${spec.task}:${id}:${this.ctx.files.get(id).seq}`;
    let n = this.fileTokens.get(cacheKey);
    if (n === undefined) {
      n = await fileTokens(spec.task, this.ctx.files.binPath(id));
      this.fileTokens.set(cacheKey, n);
    }
    return n;
  }

  get(res: ServerResponse, id: string): void {
    const b = this.store.get(id);
    const op = toOperation(b, true, this.prefix);
    // The succeededWithoutOutputPolls quirk: this GET was one of the outputless ones.
    if (b.state === 'SUCCEEDED' && b.outputHiddenPolls > 0) b.outputHiddenPolls--;
    sendJson(res, 200, op);
  }

  list(res: ServerResponse, url: URL): void {
    const size = pageSizeOf(url.searchParams.get('pageSize'), 10, 100);
    const { page, nextPageToken } = paginate(this.store.listed(), size, decodePageToken(url.searchParams.get('pageToken')));
    const body: Record<string, unknown> = {};
    if (page.length > 0) body.operations = page.map((b) => toOperation(b, false, this.prefix));
    if (nextPageToken) body.nextPageToken = nextPageToken;
    sendJson(res, 200, body);
  }

  cancel(res: ServerResponse, id: string): void {
    this.store.cancel(id);
    sendJson(res, 200, {});
  }

  delete(res: ServerResponse, id: string): void {
    this.store.delete(id);
    sendJson(res, 200, {});
  }
}
