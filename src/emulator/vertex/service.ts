/**
 * Vertex AI batch jobs and the Cloud Storage subset, on the same server as
 * the Developer API: the index offers each request here first.
 */
import { join } from 'node:path';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context } from '../context.js';
import { ObjectStore } from '../gcs/object-store.js';
import { GcsRoutes } from '../gcs/routes.js';
import { BearerAuth } from './auth.js';
import { JobStore } from './job-store.js';
import { VertexRoutes } from './routes.js';
import { VertexRunner } from './runner.js';

export interface CloudServices {
  /** True when the request was a Vertex or Cloud Storage one (and is being answered). */
  handle(req: IncomingMessage, res: ServerResponse): boolean;
  /** Stops every job and waits for running ones to let go of their files. */
  close(): Promise<void>;
}

export function createCloudServices(ctx: Context, fallbackOrigin: () => string): CloudServices {
  const objects = new ObjectStore(join(ctx.dataDir, 'gcs'), ctx.now);
  const auth = new BearerAuth(ctx.options.expiredTokenResponses ?? 0);
  const jobs = new JobStore(ctx);
  const runner = new VertexRunner(ctx, jobs, objects);
  const gcs = new GcsRoutes(ctx, objects, auth, fallbackOrigin);
  const vertex = new VertexRoutes(ctx, jobs, runner, auth);
  return {
    handle: (req, res) => {
      const url = new URL(req.url ?? '/', 'http://emulator.invalid');
      return vertex.handle(req, res, url) || gcs.handle(req, res, url);
    },
    close: async () => {
      jobs.closeAll();
      await runner.close();
    },
  };
}
