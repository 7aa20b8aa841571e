/**
 * POST /v1beta/models/{m}:countTokens: free, no generation quota. Counts as
 * the responder's usageMetadata.promptTokenCount does (promptTokens), so a
 * dry run's sampled estimate can be checked against a real run here. Takes
 * the service's two shapes: `{contents}` or `{generateContentRequest: {model,
 * contents, systemInstruction, ...}}`; a field the request does not have is
 * refused as the service refuses it.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promptTokens } from './responder.js';
import { unknownNameMessage, unknownRequestField } from './request-fields.js';
import { invalid, isRecord, readJson, sendJson } from './wire.js';

const BODY_LIMIT = 64 << 20;

export async function countTokensRoute(req: IncomingMessage, res: ServerResponse, model: string): Promise<void> {
  const body = await readJson(req, BODY_LIMIT);
  if (!isRecord(body)) throw invalid('Invalid JSON payload received. Expected an object.');
  for (const k of Object.keys(body)) {
    if (k !== 'contents' && k !== 'generateContentRequest' && k !== 'generate_content_request') throw invalid(unknownNameMessage(k, ''));
  }
  const inner = body.generateContentRequest ?? body.generate_content_request;
  const request = isRecord(inner) ? inner : { contents: body.contents };
  const unknown = unknownRequestField('generate', request);
  if (unknown) throw invalid(unknownNameMessage(unknown[0], unknown[1]));
  const task = /embedding/.test(model) ? 'embed' : 'generate';
  const totalTokens = task === 'embed' ? promptTokens('embed', { content: Array.isArray(request.contents) ? request.contents[0] : request.contents }) : promptTokens('generate', request);
  sendJson(res, 200, { totalTokens, promptTokensDetails: [{ modality: 'TEXT', tokenCount: totalTokens }] });
}
