/**
 * Vertex AI batch prediction jobs over REST, on v1 and v1beta1 (the SDK's):
 * `projects/{p}/locations/{l}/batchPredictionJobs` create, get, list (filter,
 * pages), `:cancel`, delete (a long-running Operation, already done). Every
 * call needs `Authorization: Bearer …` (any token; no API key).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '../context.js';
import type { EmulatorRoute } from '../types.js';
import { decodePageToken, HttpError, invalid, isoTimeNanos, pageSizeOf, paginate, readJson, sendError, sendJson } from '../wire.js';
import { authMessage, WWW_AUTHENTICATE, type BearerAuth } from './auth.js';
import { parseFilter } from './filter.js';
import { ENDED, toWire, type VertexJob } from './job.js';
import type { JobStore } from './job-store.js';
import type { VertexRunner } from './runner.js';

const BASE = /^\/(v1|v1beta1)\/(projects\/[^/]+\/locations\/[^/]+)\/(batchPredictionJobs|operations)(?:\/(\d+))?(:cancel)?$/;

export class VertexRoutes {
  private readonly ctx: Context;
  private readonly store: JobStore;
  private readonly runner: VertexRunner;
  private readonly auth: BearerAuth;

  constructor(ctx: Context, store: JobStore, runner: VertexRunner, auth: BearerAuth) {
    this.ctx = ctx;
    this.store = store;
    this.runner = runner;
    this.auth = auth;
  }

  /** Serves the request when it is a Vertex one; false leaves it to the other services. */
  handle(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    const m = BASE.exec(url.pathname);
    if (!m) return false;
    const [, , parent, kind, id, cancel] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
    const fail = (err: unknown): void => {
      sendError(res, err instanceof HttpError ? err : new HttpError(500, `Internal emulator error: ${(err as Error).message}`));
    };
    try {
      const problem = this.auth.check(req, true);
      if (problem) {
        sendError(res, new HttpError(401, authMessage(problem)), WWW_AUTHENTICATE);
        return true;
      }
      const found = this.route(req, res, url, parent, kind, id, cancel !== undefined);
      if (!found) throw new HttpError(404, `Route ${req.method ?? ''} ${url.pathname} not found.`);
      // errorRates apply by the same groups as on the Developer API (create, get, list, cancel, delete).
      const injected = found.group ? this.ctx.faults.httpError(found.group) : undefined;
      if (injected) {
        this.ctx.counters.add('injectedErrors');
        if (injected.code === 0) req.socket.destroy();
        else sendError(res, injected);
        return true;
      }
      found.run().catch(fail);
    } catch (err) {
      fail(err);
    }
    return true;
  }

  private route(
    req: IncomingMessage,
    res: ServerResponse,
    url: URL,
    parent: string,
    kind: string,
    id: string | undefined,
    cancel: boolean,
  ): { group: EmulatorRoute | undefined; run: () => Promise<void> } | undefined {
    const count = (name: string): void => this.ctx.counters.route(`vertex.${name}`);
    if (kind === 'operations') {
      // Delete operations are done when answered; a GET on one says so again.
      if (req.method !== 'GET' || id === undefined || cancel) return undefined;
      return { group: undefined, run: async () => sendJson(res, 200, { name: `${parent}/operations/${id}`, done: true, response: { '@type': 'type.googleapis.com/google.protobuf.Empty' } }) };
    }
    if (id === undefined) {
      if (req.method === 'POST' && !cancel) return { group: 'create', run: async () => (count('create'), this.create(req, res, parent)) };
      if (req.method === 'GET' && !cancel) return { group: 'list', run: async () => (count('list'), this.list(res, url, parent)) };
      return undefined;
    }
    if (cancel) {
      if (req.method !== 'POST') return undefined;
      return { group: 'cancel', run: async () => {
        count('cancel');
        await readJson(req, 1 << 20);
        const j = this.store.get(parent, id);
        if (ENDED.has(j.state)) {
          throw new HttpError(400, `The BatchPredictionJob ${id} has already ended (JOB_STATE_${j.state}) and cannot be cancelled.`, { status: 'FAILED_PRECONDITION' });
        }
        this.runner.cancel(j);
        sendJson(res, 200, {});
      } };
    }
    if (req.method === 'GET') return { group: 'get', run: async () => (count('get'), this.get(res, parent, id)) };
    if (req.method === 'DELETE') {
      return { group: 'delete', run: async () => {
        count('delete');
        const j = this.store.delete(parent, id);
        const t = isoTimeNanos(this.ctx.now());
        sendJson(res, 200, {
          name: `${parent}/operations/${j.id.slice(0, 10)}${String(j.seq).padStart(9, '0')}`,
          metadata: { '@type': 'type.googleapis.com/google.cloud.aiplatform.v1.DeleteOperationMetadata', genericMetadata: { createTime: t, updateTime: t } },
          done: true,
          response: { '@type': 'type.googleapis.com/google.protobuf.Empty' },
        });
      } };
    }
    return undefined;
  }

  private async create(req: IncomingMessage, res: ServerResponse, parent: string): Promise<void> {
    const body = await readJson(req, 10 << 20);
    const j = this.store.create(parent, body);
    this.ctx.counters.created(j.displayName);
    this.runner.schedule(j);
    if (this.ctx.faults.ambiguousCreate()) {
      this.ctx.counters.add('injectedErrors');
      throw new HttpError(503, 'Injected 503 after the job was created (emulator fault: ambiguous create).');
    }
    sendJson(res, 200, toWire(j));
  }

  private get(res: ServerResponse, parent: string, id: string): void {
    const j = this.store.get(parent, id);
    const wire = toWire(j);
    // The first terminal GETs come without outputInfo (vertexOutputInfoHiddenPolls, default 1).
    if (ENDED.has(j.state) && j.outputInfoHiddenPolls > 0) j.outputInfoHiddenPolls--;
    sendJson(res, 200, wire);
  }

  private list(res: ServerResponse, url: URL, parent: string): void {
    const filter = parseFilter(url.searchParams.get('filter'));
    const size = pageSizeOf(url.searchParams.get('pageSize'), 100, 1000);
    const jobs: VertexJob[] = this.store.listed(parent).filter(filter);
    const token = url.searchParams.get('pageToken');
    let after: number | undefined;
    try {
      after = decodePageToken(token);
    } catch {
      throw invalid(`Invalid pageToken: ${token ?? ''}`);
    }
    const { page, nextPageToken } = paginate(jobs, size, after);
    const body: Record<string, unknown> = {};
    if (page.length > 0) body.batchPredictionJobs = page.map(toWire);
    if (nextPageToken) body.nextPageToken = nextPageToken;
    sendJson(res, 200, body);
  }
}
