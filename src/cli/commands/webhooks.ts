/**
 * `gemini-batch webhooks create|list|get|delete|ping|rotate-secret`: the
 * project's static webhooks (WebhookService). A signing secret is shown once,
 * when it is made: the service never shows it again.
 */
import { Option, type Command } from 'commander';
import type { Webhook } from '../../backends/gemini/types.js';
import { withClient } from '../client.js';
import { httpUrl, positiveInt } from '../parse.js';
import { table } from '../table.js';

type Print = (text: string) => void;

const DEFAULT_EVENTS = ['batch.succeeded', 'batch.failed', 'batch.expired'];

/** Everything but the wire object, which may repeat it all. */
function summarise(w: Webhook): Record<string, unknown> {
  const { raw: _raw, ...rest } = w;
  return rest;
}

/** Printed on stderr with a new secret: stdout stays the secret alone (or JSON) for scripts. */
const STORE_IT = 'gemini-batch: store this signing secret now (e.g. in GEMINI_WEBHOOK_SECRET): the service will not show it again.\n';

function events(v: string): string[] {
  return v
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
}

export function registerWebhooksCommand(program: Command, print: Print): Command {
  const hooks = program.command('webhooks').description("Manage the project's webhooks: the service POSTs batch events to them");
  hooks
    .command('create')
    .description('Create a webhook; prints its signing secret once')
    .requiredOption('--url <url>', 'the endpoint the service POSTs events to', httpUrl)
    .option('--events <list>', `comma-separated events (default ${DEFAULT_EVENTS.join(',')})`, events)
    .option('--name <name>', 'a display name')
    .option('--json', 'the webhook and its secret as one JSON object')
    .action(async (flags: { url: string; events?: string[]; name?: string; json?: boolean }) => {
      await withClient(async (client) => {
        const created = await client.webhooks.create({ uri: flags.url, subscribedEvents: flags.events ?? DEFAULT_EVENTS, ...(flags.name ? { name: flags.name } : {}) });
        process.stderr.write(STORE_IT);
        if (flags.json) return print(JSON.stringify(summarise(created)));
        print(`created webhook ${created.id} -> ${created.uri}`);
        print(`signing secret: ${created.newSigningSecret}`);
      });
    });
  hooks
    .command('list')
    .description('List webhooks')
    .option('--limit <n>', 'show at most N webhooks', positiveInt, 100)
    .option('--json', 'one JSON object per line instead of a table')
    .action(async (flags: { limit: number; json?: boolean }) => {
      await withClient(async (client) => {
        const rows: Webhook[] = [];
        for await (const w of client.webhooks.list({ pageSize: Math.min(flags.limit, 100) })) {
          rows.push(w);
          if (rows.length >= flags.limit) break;
        }
        if (flags.json) return print(rows.map((w) => JSON.stringify(summarise(w))).join('\n'));
        if (rows.length === 0) return print('no webhooks');
        print(table(['ID', 'URL', 'EVENTS', 'STATE', 'NAME'], rows.map((w) => [w.id, w.uri, w.subscribedEvents.join(','), w.state ?? '', w.name ?? ''])));
      });
    });
  hooks
    .command('get')
    .description('Show one webhook as JSON (secrets only truncated, as the service shows them)')
    .argument('<id>', 'webhooks/ID or ID')
    .action(async (id: string) => {
      await withClient(async (client) => print(JSON.stringify(summarise(await client.webhooks.get(id)), null, 2)));
    });
  hooks
    .command('delete')
    .description('Delete a webhook')
    .argument('<id>', 'webhooks/ID or ID')
    .action(async (id: string) => {
      await withClient(async (client) => {
        await client.webhooks.delete(id);
        print(`deleted ${id}`);
      });
    });
  hooks
    .command('ping')
    .description('Ask the service to send the webhook a test event')
    .argument('<id>', 'webhooks/ID or ID')
    .action(async (id: string) => {
      await withClient(async (client) => {
        await client.webhooks.ping(id);
        print(`ping sent to ${id}`);
      });
    });
  hooks
    .command('rotate-secret')
    .description('Make a new signing secret; prints it once')
    .argument('<id>', 'webhooks/ID or ID')
    .addOption(
      new Option('--revoke <when>', 'when the previous secrets stop working')
        .choices(['after-24h', 'immediately'])
        .default('after-24h'),
    )
    .option('--json', 'the secret as a JSON object')
    .action(async (id: string, flags: { revoke: 'after-24h' | 'immediately'; json?: boolean }) => {
      await withClient(async (client) => {
        const revocationBehavior = flags.revoke === 'immediately' ? 'revoke_previous_secrets_immediately' : 'revoke_previous_secrets_after_h24';
        const { secret } = await client.webhooks.rotateSigningSecret(id, { revocationBehavior });
        process.stderr.write(STORE_IT);
        print(flags.json ? JSON.stringify({ id, secret }) : `signing secret: ${secret}`);
      });
    });
  return hooks;
}
