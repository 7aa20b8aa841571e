/** `gemini-batch files list|delete`: uploaded inputs and result files on the service (48 h, 20 GB quota). */
import type { Command } from 'commander';
import type { GeminiFile } from '../../backends/gemini/types.js';
import { canGetOrDeleteFile } from '../../backends/gemini/names.js';
import { withClient } from '../client.js';
import { CliUsageError } from '../errors.js';
import { mb } from '../format.js';
import { positiveInt } from '../parse.js';
import { table } from '../table.js';
import { vertexFilesCommand, withBackendFlags } from '../vertex-admin.js';
import type { BackendFlags } from '../vertex-connection.js';

type Print = (text: string) => void;

function undeletable(name: string): CliUsageError {
  return new CliUsageError(
    `cannot delete ${name}: the service refuses to delete files whose id is over 40 characters (batch output files); it expires 48 h after it was created`,
  );
}

export function registerFilesCommand(program: Command, print: Print): Command {
  const files = program.command('files').description('List or delete files on the service');
  withBackendFlags(files
    .command('list'))
    .description('List files (batch inputs and results)')
    .option('--limit <n>', 'show at most N files', positiveInt, 100)
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (flags: { limit: number; json?: boolean } & BackendFlags) => {
      if (flags.backend === 'vertex') return vertexFilesCommand('list', flags, print);
      await withClient(async (client) => {
        const rows: GeminiFile[] = [];
        for await (const f of client.files.list({ pageSize: Math.min(flags.limit, 100) })) {
          rows.push(f);
          if (rows.length >= flags.limit) break;
        }
        if (flags.json) return print(rows.map((f) => JSON.stringify(f)).join('\n'));
        if (rows.length === 0) return print('no files');
        print(
          table(
            ['NAME', 'DISPLAY NAME', 'SIZE', 'STATE', 'SOURCE', 'EXPIRES'],
            rows.map((f) => [f.name, f.displayName ?? '', f.sizeBytes ? mb(Number(f.sizeBytes)) : '', f.state ?? '', f.source ?? '', f.expirationTime ?? '']),
          ),
        );
      });
    });
  withBackendFlags(files
    .command('delete'))
    .description('Delete a file')
    .argument('<name>', 'files/ID or ID')
    .action(async (name: string, flags: BackendFlags) => {
      if (flags.backend === 'vertex') return vertexFilesCommand('delete', flags, print, name);
      // A batch's output file (id over 40 chars) cannot be deleted: say so and exit 2, never "deleted".
      if (!canGetOrDeleteFile(name)) throw undeletable(name);
      await withClient(async (client) => {
        if (!(await client.files.delete(name))) throw undeletable(name);
        print(`deleted ${name}`);
      });
    });
  return files;
}
