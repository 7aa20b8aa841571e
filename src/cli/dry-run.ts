/** `run --dry-run`: the plan of the run (planBatch) on stdout; nothing sent that costs money, no OUT, no state dir. */
import { planBatch, type PlanOptions } from '../planning/plan-batch.js';
import { formatPlan } from '../planning/format-plan.js';
import { connect, type Connection } from './connection.js';
import { EXIT_OK } from './errors.js';
import { openInput } from './input.js';
import type { BackendFlags } from './vertex-connection.js';

/** The run flags a dry run reads itself (the rest go through libraryOptions). */
export interface DryRunFlags extends BackendFlags {
  maxLineBytes?: number;
  promptField?: string;
  emulator?: boolean;
  json?: boolean;
  outputTokens?: number;
  tier?: 1 | 2 | 3;
  countTokens?: number;
}

export async function dryRun<F extends DryRunFlags>(
  inputPath: string,
  flags: F,
  libraryOptions: (f: F, conn: Connection) => PlanOptions<Record<string, unknown>>,
  signal: AbortSignal,
): Promise<number> {
  const input = await openInput(inputPath, { maxLineChars: flags.maxLineBytes, rawLines: flags.promptField === undefined });
  // Only a sample for countTokens needs the service (or the embedded emulator); a Vertex plan needs
  // only where its jobs would go (no call is made: connect builds the options, planBatch knows the limits).
  const counting = (flags.countTokens ?? 0) > 0;
  const conn: Connection = counting || flags.backend === 'vertex' ? await connect(flags) : { target: 'none', close: async () => undefined };
  try {
    const plan = await planBatch(
      input.records,
      {
        ...libraryOptions(flags, conn),
        signal,
        tier: flags.tier ?? 1,
        ...(flags.outputTokens !== undefined ? { outputTokens: flags.outputTokens } : {}),
        ...(counting ? { countTokens: flags.countTokens } : {}),
      },
      { lineNumbers: input.lineNumbers },
    );
    process.stdout.write(flags.json ? `${JSON.stringify(plan)}\n` : `${formatPlan(plan)}\n`);
    return EXIT_OK;
  } finally {
    await conn.close().catch(() => undefined);
  }
}
