/** `gemini-batch run`: its flags and help. The work is in ../run-batch.ts. */
import { Option, type Command } from 'commander';
import { hostPort, httpUrl, jsonObject, nonNegativeInt, positiveInt, positiveUsd, tier } from '../parse.js';
import { runBatch, type RunFlags } from '../run-batch.js';

export function registerRunCommand(program: Command, setExitCode: (code: number) => void): Command {
  return program
    .command('run')
    .description('Send every record of INPUT through the Gemini Batch API and write one result line per record, in input order, to OUT')
    .argument('<input>', 'Gemini batch JSONL ({"key","request"} per line), any JSONL with --prompt-field, or a JSON array file; - for stdin; with --backend vertex, gs://B/PATH/*.jsonl for objects already in Cloud Storage')
    .requiredOption('-m, --model <model>', 'model, e.g. gemini-2.5-flash')
    .requiredOption('-o, --output <out>', 'results JSONL file (ending in .gz: gzipped); - for stdout; gs://B/NAME with a gs:// INPUT')
    .option('--state-dir <dir>', 'journal for resuming after a crash (default: .gemini-batch/<OUT name>/ next to OUT; none for stdout)')
    .addOption(new Option('--mode <mode>', 'auto: inline when a batch fits 20 MB, else a file').choices(['auto', 'file', 'inline']).default('auto'))
    .addOption(new Option('--task <task>', 'generate (batchGenerateContent) or embed (asyncBatchEmbedContent)').choices(['generate', 'embed']).default('generate'))
    .option('--max-file-bytes <n>', 'largest upload per batch (default 2,000,000,000)', positiveInt)
    .option('--max-requests <n>', 'most requests per batch (default 200,000)', positiveInt)
    .option('--flush-after <ms>', 'close a batch this long after its first record (for slow, unbounded input)', positiveInt)
    .option('--upload-concurrency <n>', 'uploads at once (default 2)', positiveInt)
    .option('--max-jobs <n>', 'batches in flight at once (default 8)', positiveInt)
    .option('--poll-interval <ms>', 'first poll delay; it backs off to 60 s (default 2000)', positiveInt)
    .option('--max-line-bytes <n>', 'longest input line accepted (default 64 MiB)', positiveInt)
    .option('--emulator', 'run against an emulator started in this process (no API key needed)')
    .addOption(new Option('--backend <name>', 'gemini: the Gemini Developer API; vertex: Vertex AI batch prediction (needs --project and --bucket)').choices(['gemini', 'vertex']).default('gemini'))
    .option('--project <id>', 'with --backend vertex: the Google Cloud project (default GOOGLE_CLOUD_PROJECT)')
    .option('--location <loc>', 'with --backend vertex: the location, e.g. us-central1 or global (default GOOGLE_CLOUD_LOCATION, else us-central1)')
    .option('--bucket <gs://B/PREFIX>', 'with --backend vertex: where input and output objects go')
    .option('--prompt-field <field>', 'build each request from this string field of any JSON record')
    .option('--key-field <field>', 'with --prompt-field: the field holding the record key (default: the record number)')
    .option('--system <text>', 'with --prompt-field: a system instruction for every request')
    .option('--generation-config <json>', 'with --prompt-field: generationConfig for every request, e.g. \'{"temperature":0}\'', jsonObject)
    .addOption(new Option('--on-invalid <policy>', 'a bad record: error stops the run, emit writes an error line for it').choices(['error', 'emit']).default('error'))
    .option('--retry-failed <n>', 'resubmit requests that failed with a retryable status up to N times; on a finished run, resend only the records whose result in OUT is a retryable error', nonNegativeInt)
    .option('--quota-wait <ms>', 'with none of this run\'s batches queued, how long creates refused for the enqueued-token quota are retried before the run fails (default 600000)', positiveInt)
    .option('--adopt-window <ms>', 'how long a batch whose create answer was lost is looked for by name before it is created again (default 90000)', positiveInt)
    .option('--output-wait <ms>', 'how long a batch shown SUCCEEDED without its output is polled for it (default 900000)', positiveInt)
    .option('--storage-budget <bytes>', 'keep this run\'s uploaded, not yet deleted files under this size by waiting before an upload (default 20,000,000,000)', positiveInt)
    .option('--no-cleanup', 'keep uploaded and result files on the service')
    .option('--cancel-on-abort', 'on Ctrl-C / SIGTERM, cancel the batches in flight (default: leave them running, resume later)')
    .option('--webhook-listen <host:port>', 'finish batches on the service\'s signed webhook events, received on this local address (polling stays the safety net)', hostPort)
    .option('--webhook-url <url>', 'with --webhook-listen: the public URL the service POSTs to (a tunnel, a proxy); default the local address', httpUrl)
    .option('--webhook-secret <whsec>', 'verify deliveries with this signing secret (from `webhooks create`); or set GEMINI_WEBHOOK_SECRET')
    .option('--max-cost <usd>', 'spend at most this many US dollars (batch prices, the whole run with its resumes): a batch is sent only if its most possible cost still fits; records not sent get BUDGET_EXCEEDED and the run exits 4', positiveUsd)
    .option('--output-tokens <n>', 'output tokens to assume per request that sets no generationConfig.maxOutputTokens: for --max-cost reservations and the --dry-run estimate', positiveInt)
    .addOption(new Option('--on-budget <policy>', 'with --max-cost, when the next batch does not fit: stop sending (batches in flight finish) or also cancel those in flight').choices(['stop', 'cancel']))
    .option('--fresh', 'start a new run even if the state dir holds one (finished or not); the old journal is archived in the state dir')
    .option('--no-store', 'send "store": false on every request: the service keeps no copy of them (Developer API)')
    .option('--prices <file>', 'JSON price table adding to or overriding the built-in one: {"model": {"input": USD/1M, "output": USD/1M, "cached"?: ...}}')
    .option('--dry-run', 'plan only: records, batches, tokens, cost and limits on stdout; nothing uploaded, created or paid, no OUT')
    .option('--tier <n>', 'with --dry-run: the project\'s usage tier 1, 2 or 3, for the enqueued-token quota (default 1)', tier)
    .option('--count-tokens <n>', 'with --dry-run: measure N sampled requests with the free countTokens (about 3,000 a minute) to correct the estimate', positiveInt)
    .option('--overwrite', 'replace an existing OUT that no run of gemini-batch wrote (refused without it)')
    .option('-q, --quiet', 'print nothing but fatal errors')
    .option('--json', 'progress, job and summary events as JSON lines on stderr')
    .addHelpText(
      'after',
      `
Environment:
  GEMINI_API_KEY / GOOGLE_API_KEY   API key (sent only as the x-goog-api-key header)
  GOOGLE_GEMINI_BASE_URL            another endpoint, e.g. a 'gemini-batch emulator'
  GOOGLE_CLOUD_PROJECT / _LOCATION  --backend vertex: project and location (credentials: gcloud's
                                    Application Default Credentials, or GOOGLE_OAUTH_ACCESS_TOKEN)
  GEMINI_WEBHOOK_SECRET             webhook signing secret (instead of --webhook-secret, kept out of ps)
  DEBUG=gemini-batch                stack traces for unexpected errors

Exit codes: 0 done (per-request errors are results), 1 fatal (or another run
holds the state dir, or the endpoint cannot be reached), 2 usage or refused (OUT is
INPUT, OUT exists without --overwrite, flags changed on resume, a busy --webhook-listen
port, ...), 3 done but every record failed,
4 the --max-cost budget ran out (the same command with a larger one sends the rest),
130/143 interrupted.
Results go to OUT.partial and replace OUT only when the run succeeds.
Run the same command again after a crash or Ctrl-C: it resumes where it stopped.
After a finished run it does nothing (OUT is complete); --fresh runs it again;
--retry-failed N resends only the records whose result is a retryable error.
One run per state dir at a time: a second one is refused.

Examples:
  gemini-batch run requests.jsonl -m gemini-2.5-flash -o results.jsonl
  gemini-batch run requests.jsonl -m gemini-2.5-flash -o results.jsonl --dry-run --count-tokens 200
  gemini-batch run reviews.jsonl -m gemini-2.5-flash-lite -o out.jsonl --prompt-field text --key-field id
  cat requests.jsonl | gemini-batch run - -m gemini-2.5-flash -o - --emulator > results.jsonl
  gemini-batch run requests.jsonl -m gemini-2.5-flash -o results.jsonl --backend vertex --project my-proj --location us-central1 --bucket gs://my-bucket/batch
  gemini-batch run 'gs://my-bucket/in/*.jsonl' -m gemini-2.5-flash -o results.jsonl --backend vertex --project my-proj --bucket gs://my-bucket/work`,
    )
    // A gs:// INPUT is the Cloud Storage path (src/cli/gcs-run/), loaded only when used.
    .action(async (input: string, flags: RunFlags) =>
      setExitCode(input.startsWith('gs://') ? await (await import('../gcs-run/index.js')).runGcsBatch(input, flags) : await runBatch(input, flags)),
    );
}
