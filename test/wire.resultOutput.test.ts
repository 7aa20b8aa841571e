/** wire.jsonlResult / objectResult: both output modes give the same result, error status and tokens. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonlResult, objectResult } from '../src/internal/wire/result-output.js';
import { readLineKey } from '../src/internal/wire/result-line.js';
import { usageFromResponse } from '../src/internal/wire/usage.js';
import { resultLine } from './helpers/wire-lines.js';

describe('jsonlResult and objectResult', () => {
  it('agree on every line: jsonl parses to the object, same error, same usage', () => {
    fc.assert(
      fc.property(resultLine, fc.constantFrom('generate' as const, 'embed' as const), (c, task) => {
        const k = readLineKey(c.line)!;
        const o = objectResult(c.line, k, task);
        const j = jsonlResult(c.line, k, task);
        expect(JSON.parse(j.value.toString())).toEqual(JSON.parse(JSON.stringify(o.value)));
        expect(j.value.subarray(-1).toString()).toBe('\n');
        expect(j.error).toEqual(o.error);
        expect(j.usage).toEqual(o.usage);
        if (c.kind === 'error') expect(o.error?.status === 'UNKNOWN').toBe((c.body.error as { code: number }).code === 2);
        else expect(o.usage).toEqual(usageFromResponse(c.body.response));
      }),
      { numRuns: 400 },
    );
  });

  it('names a gRPC error and reads embeddings', () => {
    const err = Buffer.from('{"error": {"code": 13, "message": "An internal error has occurred."}, "key": "5:a"}');
    expect(objectResult(err, readLineKey(err)!, 'generate').value).toEqual({ key: 'a', error: { code: 13, status: 'INTERNAL', message: 'An internal error has occurred.' } });
    const emb = Buffer.from('{"response": {"embedding": {"values": [0.5, 1]}, "tokenCount": "1"}, "key": "6:b"}');
    expect(jsonlResult(emb, readLineKey(emb)!, 'embed').value.toString()).toBe('{"key":"b","embedding":[0.5,1]}\n');
  });
});
