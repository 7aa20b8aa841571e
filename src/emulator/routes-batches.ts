/** Batches API: create (generate / embed), get, list, cancel, delete. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Task } from './batch.js';
import { toOperation } from './batch.js';
import type { BatchStore } from './batch-store.js';
import type { Context } from './context.js';
import { parseCreate } from './create-request.js';
import type { JobRunner } from './runner.js';
import { decodePageToken, HttpError, pageSizeOf, paginate, readJson, sendJson } from './wire.js';

export class BatchRoutes {
  private readonly ctx: Context;
  private readonly store: BatchStore;
  private readonly runner: JobRunner;

  constructor(ctx: Context, store: BatchStore, runner: JobRunner) {
    this.ctx = ctx;
    this.store = store;
    this.runner = runner;
  }

  async create(req: IncomingMessage, res: ServerResponse, model: string, task: Task): Promise<void> {
    // The whole body counts against the inline limit, as the service's 20 MB request cap does.
    const body = await readJson(req, this.ctx.settings.maxInlineBytes);
    const spec = parseCreate(body, task, model, this.ctx.files);
    const b = this.store.create(spec);
    this.ctx.counters.created(b.displayName);
    this.runner.schedule(b);
    if (this.ctx.faults.ambiguousCreate()) {
      this.ctx.counters.add('injectedErrors');
      throw new HttpError(503, 'Injected 503 after the batch was created (emulator fault: ambiguous create).');
    }
    sendJson(res, 200, toOperation(b, true));
  }

  get(res: ServerResponse, id: string): void {
    sendJson(res, 200, toOperation(this.store.get(id), true));
  }

  list(res: ServerResponse, url: URL): void {
    const size = pageSizeOf(url.searchParams.get('pageSize'), 10, 100);
    const { page, nextPageToken } = paginate(this.store.all(), size, decodePageToken(url.searchParams.get('pageToken')));
    const body: Record<string, unknown> = {};
    if (page.length > 0) body.operations = page.map((b) => toOperation(b, false));
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
