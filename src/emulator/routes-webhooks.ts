/** WebhookService (static webhooks), snake_case JSON: create, list, get, update, delete, ping, rotate. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { WebhookDeliverer } from './webhook-delivery.js';
import type { WebhookStore } from './webhook-store.js';
import { decodePageToken, isRecord, pageSizeOf, paginate, readJson, sendJson } from './wire.js';

export class WebhookRoutes {
  constructor(
    private readonly store: WebhookStore,
    private readonly deliverer: WebhookDeliverer,
  ) {}

  async create(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { hook, secret } = this.store.create(await readJson(req, 1 << 20));
    // The secret is returned here and nowhere else.
    sendJson(res, 200, { ...this.store.toResource(hook), new_signing_secret: secret });
  }

  list(res: ServerResponse, url: URL): void {
    const size = pageSizeOf(url.searchParams.get('page_size') ?? url.searchParams.get('pageSize'), 50, 100);
    const token = url.searchParams.get('page_token') ?? url.searchParams.get('pageToken');
    const { page, nextPageToken } = paginate(this.store.all(), size, decodePageToken(token));
    const body: Record<string, unknown> = {};
    if (page.length > 0) body.webhooks = page.map((h) => this.store.toResource(h));
    if (nextPageToken) body.next_page_token = nextPageToken;
    sendJson(res, 200, body);
  }

  get(res: ServerResponse, id: string): void {
    sendJson(res, 200, this.store.toResource(this.store.get(id)));
  }

  async update(req: IncomingMessage, res: ServerResponse, id: string, url: URL): Promise<void> {
    const body = await readJson(req, 1 << 20);
    const mask = url.searchParams.get('update_mask') ?? url.searchParams.get('updateMask');
    sendJson(res, 200, this.store.toResource(this.store.update(id, body, mask)));
  }

  delete(res: ServerResponse, id: string): void {
    this.store.delete(id);
    sendJson(res, 200, {});
  }

  async ping(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    await readJson(req, 1 << 20);
    this.deliverer.ping(this.store.get(id));
    sendJson(res, 200, {});
  }

  async rotate(req: IncomingMessage, res: ServerResponse, id: string): Promise<void> {
    const body = await readJson(req, 1 << 20);
    const behavior = isRecord(body) ? body.revocation_behavior : undefined;
    sendJson(res, 200, { secret: this.store.rotate(id, behavior) });
  }
}
