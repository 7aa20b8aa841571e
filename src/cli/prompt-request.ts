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
  // Whether any record so far had the key field: until one has, a record without it is taken for a typo.
  let keySeen = false;
  return (record) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new Error(`expected a JSON object with a "${o.promptField}" field`);
    }
    const text = record[o.promptField];
    if (typeof text !== 'string') {
      throw new Error(`"${o.promptField}" must be a string (set by --prompt-field), got ${text === undefined ? 'nothing' : typeof text}`);
    }
    let key: string | number | undefined;
    if (o.keyField !== undefined) {
      // A typo in --key-field must not quietly key every result by record number instead.
      const k = record[o.keyField];
      if (k === undefined && !keySeen) {
        throw new Error(`the record has no "${o.keyField}" field (named by --key-field); check the field name, or leave --key-field out to key results by record number`);
      }
      if (k !== undefined && typeof k !== 'string' && typeof k !== 'number') {
        throw new Error(`"${o.keyField}" (named by --key-field) must be a string or a number, got ${k === null ? 'null' : Array.isArray(k) ? 'an array' : typeof k}`);
      }
      if (k !== undefined) {
        keySeen = true;
        key = k;
      }
    }
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
