/**
 * Reads a batch create body, camelCase or snake_case, into a NewBatch:
 * {"batch": {displayName, inputConfig: {fileName} | {requests: {requests: [...]}}}}.
 */
import type { Task } from './batch.js';
import type { NewBatch } from './batch-store.js';
import type { FileStore } from './file-store.js';
import { createViolations, inlineViolations, type FieldViolation } from './request-fields.js';
import type { BatchWebhookConfig } from './batch.js';
import { HttpError, invalid, isRecord } from './wire.js';

function pick(o: Record<string, unknown>, camel: string, snake: string): unknown {
  return o[camel] ?? o[snake];
}

export function parseCreate(body: unknown, task: Task, model: string, files: FileStore): NewBatch {
  if (!isRecord(body)) throw invalid('The request body must be a JSON object with a "batch" field.');
  // Strict like the service, but only for a body in the documented {"batch": {...}} shape.
  if (isRecord(body.batch)) refuse(createViolations(body));
  const batch = isRecord(body.batch) ? body.batch : body;
  const displayNameRaw = pick(batch, 'displayName', 'display_name');
  if (displayNameRaw !== undefined && typeof displayNameRaw !== 'string') {
    throw invalid('batch.displayName must be a string.');
  }
  const priorityRaw = batch.priority;
  const priority = priorityRaw === undefined ? undefined : String(priorityRaw);
  const inputConfig = pick(batch, 'inputConfig', 'input_config');
  if (!isRecord(inputConfig)) throw invalid('batch.inputConfig is required.');

  const fileName = pick(inputConfig, 'fileName', 'file_name');
  const requestsRaw = inputConfig.requests;
  if ((fileName === undefined) === (requestsRaw === undefined)) {
    throw invalid('batch.inputConfig needs exactly one of fileName or requests.');
  }
  const common = { task, model, displayName: displayNameRaw, priority, webhook: parseWebhookConfig(pick(batch, 'webhookConfig', 'webhook_config')) };

  if (fileName !== undefined) {
    if (typeof fileName !== 'string' || fileName === '') throw invalid('batch.inputConfig.fileName must be a string.');
    const id = fileName.startsWith('files/') ? fileName.slice(6) : fileName;
    const f = files.peek(id);
    if (!f) throw invalid(`batch.inputConfig.fileName: file files/${id} does not exist.`);
    return { ...common, input: { kind: 'file', fileId: id }, requestCount: f.lines };
  }

  // {requests: {requests: [...]}} per the docs; a bare array is accepted too.
  const list = isRecord(requestsRaw) ? requestsRaw.requests : requestsRaw;
  if (!Array.isArray(list)) throw invalid('batch.inputConfig.requests.requests must be an array.');
  if (list.length === 0) throw invalid('batch.inputConfig.requests.requests must not be empty.');
  refuse(inlineViolations(task, list));
  return { ...common, input: { kind: 'inline', requests: list }, requestCount: list.length };
}

/** batch.webhookConfig: {uris: [...], userMetadata?: {...}} (snake_case accepted). */
function parseWebhookConfig(raw: unknown): BatchWebhookConfig | undefined {
  if (raw === undefined || raw === null) return undefined;
  if (!isRecord(raw)) throw invalid('batch.webhookConfig must be an object.');
  const uris = raw.uris;
  if (uris !== undefined && (!Array.isArray(uris) || uris.some((u) => typeof u !== 'string' || !/^https?:\/\//.test(u)))) {
    throw invalid('batch.webhookConfig.uris must be a list of http(s) URLs.');
  }
  const meta = pick(raw, 'userMetadata', 'user_metadata');
  if (meta !== undefined && !isRecord(meta)) throw invalid('batch.webhookConfig.userMetadata must be an object.');
  return { uris: (uris as string[] | undefined) ?? [], userMetadata: meta as Record<string, unknown> | undefined };
}

/** 400 INVALID_ARGUMENT naming the first unknown field, every one as a google.rpc.BadRequest field violation. */
function refuse(violations: FieldViolation[]): void {
  if (violations.length === 0) return;
  throw new HttpError(400, violations[0]!.description, {
    details: [{ '@type': 'type.googleapis.com/google.rpc.BadRequest', fieldViolations: violations }],
  });
}
