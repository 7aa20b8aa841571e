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

/** A record toRequest refuses; `key` (its own --key-field value, when readable) keys its error line. */
class RecordRefused extends Error {
  constructor(
    message: string,
    readonly key?: string | number,
  ) {
    super(message);
  }
}

export function promptToRequest(o: PromptRequestOptions): (record: Fields, seq: number) => BatchRecord {
  const systemInstruction = o.system !== undefined ? { parts: [{ text: o.system }] } : undefined;
  return (record) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new RecordRefused(`expected a JSON object with a "${o.promptField}" field`);
    }
    // The key first: whatever else is wrong with the record, its error line carries its own key.
    let key: string | number | undefined;
    if (o.keyField !== undefined) {
      const k = record[o.keyField];
      // Never keyed by its number instead: that number may be another record's id.
      if (k === undefined) {
        throw new RecordRefused(`the record has no "${o.keyField}" field (named by --key-field); give every record one, or leave --key-field out to key results by record number`);
      }
      if ((typeof k !== 'string' && typeof k !== 'number') || (typeof k === 'number' && !Number.isFinite(k))) {
        throw new RecordRefused(`"${o.keyField}" (named by --key-field) must be a string or a number, got ${k === null ? 'null' : Array.isArray(k) ? 'an array' : typeof k}`);
      }
      key = k;
    }
    const text = record[o.promptField];
    if (typeof text !== 'string') {
      throw new RecordRefused(`"${o.promptField}" must be a string (set by --prompt-field), got ${text === undefined ? 'nothing' : typeof text}`, key);
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
