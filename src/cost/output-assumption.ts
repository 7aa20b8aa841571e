/**
 * The output a request may bill, read from its line: its
 * generationConfig.maxOutputTokens plus its thinking budget (thinking bills
 * as output). Undefined when the request sets no maxOutputTokens: then
 * only a per-request `outputTokens` given by the user says it.
 */
import { memberValue, numberAt, requestOpen } from '../internal/wire/json-member.js';

export function outputAssumption(line: Buffer): number | undefined {
  const req = requestOpen(line);
  if (req === -1) return undefined;
  const gc = memberValue(line, req, 'generationConfig', 'generation_config');
  if (gc === -1) return undefined;
  const max = numberAt(line, memberValue(line, gc, 'maxOutputTokens', 'max_output_tokens'));
  if (max === undefined || max < 0) return undefined;
  const tc = memberValue(line, gc, 'thinkingConfig', 'thinking_config');
  const budget = tc === -1 ? undefined : numberAt(line, memberValue(line, tc, 'thinkingBudget', 'thinking_budget'));
  // -1 asks for dynamic thinking: no bound to add; the cap is then the output limit alone.
  return max + (budget !== undefined && budget > 0 ? budget : 0);
}
