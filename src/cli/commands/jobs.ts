/** `gemini-batch jobs list|get|cancel|delete`: look after batches on the service. */
import type { Command } from 'commander';
import { TERMINAL_STATES, type BatchOperation } from '../../backends/gemini/types.js';
import { withClient } from '../client.js';
import { CliUsageError } from '../errors.js';
import { positiveInt } from '../parse.js';
import { table } from '../table.js';
import { vertexJobsCommand, withBackendFlags } from '../vertex-admin.js';
import type { BackendFlags } from '../vertex-connection.js';

type Print = (text: string) => void;

/** The parts of an operation worth showing; `raw` may hold every inline response. */
function summarise(op: BatchOperation): Record<string, unknown> {
  const { raw: _raw, ...rest } = op;
  return rest;
}

function requests(op: BatchOperation): string {
  const s = op.stats;
  if (s.requestCount === undefined) return '';
  return `${s.successfulRequestCount ?? 0}/${s.failedRequestCount ?? 0}/${s.requestCount}`;
}

export function registerJobsCommand(program: Command, print: Print): Command {
  const jobs = program.command('jobs').description('List, inspect, cancel or delete batch jobs on the service');
  withBackendFlags(jobs
    .command('list'))
    .description('List batch jobs, newest first as the service orders them')
    .option('--limit <n>', 'show at most N jobs', positiveInt, 50)
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (flags: { limit: number; json?: boolean } & BackendFlags) => {
      if (flags.backend === 'vertex') return vertexJobsCommand('list', flags, print);
      await withClient(async (client) => {
        const rows: BatchOperation[] = [];
        for await (const op of client.batches.list({ pageSize: Math.min(flags.limit, 100) })) {
          rows.push(op);
          if (rows.length >= flags.limit) break;
        }
        if (flags.json) return print(rows.map((op) => JSON.stringify(summarise(op))).join('\n'));
        if (rows.length === 0) return print('no batch jobs');
        print(
          table(
            ['NAME', 'STATE', 'DISPLAY NAME', 'MODEL', 'OK/FAILED/ALL', 'CREATED'],
            rows.map((op) => [op.name, op.state, op.displayName ?? '', (op.model ?? '').replace(/^models\//, ''), requests(op), op.createTime ?? '']),
          ),
        );
      });
    });
  withBackendFlags(jobs
    .command('get'))
    .description('Show one batch job as JSON')
    .argument('<name>', 'batches/ID or ID')
    .option('--raw', 'the operation exactly as the service sent it (may include every inline response)')
    .action(async (name: string, flags: { raw?: boolean } & BackendFlags) => {
      if (flags.backend === 'vertex') return vertexJobsCommand('get', flags, print, name);
      await withClient(async (client) => {
        const op = await client.batches.get(name);
        print(JSON.stringify(flags.raw ? op.raw : summarise(op), null, 2));
      });
    });
  withBackendFlags(jobs
    .command('cancel'))
    .description('Cancel a pending or running batch job')
    .argument('<name>', 'batches/ID or ID')
    .action(async (name: string, flags: BackendFlags) => {
      if (flags.backend === 'vertex') return vertexJobsCommand('cancel', flags, print, name);
      await withClient(async (client) => {
        // The service answers {} to a cancel whatever the state: a job that already ended was not cancelled.
        const before = await client.batches.get(name);
        if (before.state === 'CANCELLED') return print(`${name} was already cancelled`);
        if (TERMINAL_STATES.has(before.state)) throw new CliUsageError(`cannot cancel ${name}: it already ended (${before.state})`);
        await client.batches.cancel(name);
        print(`cancel requested for ${name} (was ${before.state}; the service stops it shortly)`);
      });
    });
  withBackendFlags(jobs
    .command('delete'))
    .description('Delete a batch job')
    .argument('<name>', 'batches/ID or ID')
    .action(async (name: string, flags: BackendFlags) => {
      if (flags.backend === 'vertex') return vertexJobsCommand('delete', flags, print, name);
      await withClient(async (client) => {
        await client.batches.delete(name);
        print(`deleted ${name}`);
      });
    });
  return jobs;
}
