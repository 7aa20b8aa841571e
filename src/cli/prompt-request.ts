/**
 * --prompt-field: any JSONL/JSON record → a Gemini request, built by the
 * library's toRequest hook so the record's own key (--key-field) travels with it.
 */
import type { BatchRecord, BatchTask } from '../types.js';

export interface PromptRequestOptions {
  promptField: string;
  keyField?: string;
  system?: string;
  generationConfig?: Record<string, unknown>;
  task: BatchTask;
}

type Fields = Record<string, unknown>;

export function promptToRequest(o: PromptRequestOptions): (record: Fields, seq: number) => BatchRecord {
  const systemInstruction = o.system !== undefined ? { parts: [{ text: o.system }] } : undefined;
  return (record) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new Error(`expected a JSON object with a "${o.promptField}" field`);
    }
    const text = record[o.promptField];
    if (typeof text !== 'string') {
      throw new Error(`"${o.promptField}" must be a string (set by --prompt-field), got ${text === undefined ? 'nothing' : typeof text}`);
    }
    const k = o.keyField !== undefined ? record[o.keyField] : undefined;
    const key = typeof k === 'string' || typeof k === 'number' ? k : undefined;
    const request: Record<string, unknown> =
      o.task === 'embed'
        ? { content: { parts: [{ text }] } }
        : {
            contents: [{ role: 'user', parts: [{ text }] }],
            ...(systemInstruction ? { systemInstruction } : {}),
            ...(o.generationConfig ? { generationConfig: o.generationConfig } : {}),
          };
    return key === undefined ? { request } : { key, request };
  };
}
