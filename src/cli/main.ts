/**
 * The gemini-batch command line. `main` returns the exit code instead of
 * exiting, so tests and the bin script decide what to do with it.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerEmulatorCommand } from '../emulator/cli.js';
import { registerFilesCommand } from './commands/files.js';
import { registerJobsCommand } from './commands/jobs.js';
import { registerRunCommand } from './commands/run.js';
import { registerWebhooksCommand } from './commands/webhooks.js';
import { describeError, EXIT_OK, EXIT_USAGE, exitCodeOf } from './errors.js';

/** src/cli and dist/cli both sit two levels below the package root. */
function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('gemini-batch')
    .description('Stream records through the Gemini Batch API at batch price: one result per record, in input order, resumable')
    .version(version(), '-V, --version')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => void process.stdout.write(s),
      writeErr: (s) => void process.stderr.write(s),
    });
  const print = (text: string) => void process.stdout.write(`${text}\n`);
  registerRunCommand(program, setExitCode);
  registerJobsCommand(program, print);
  registerFilesCommand(program, print);
  registerWebhooksCommand(program, print);
  registerEmulatorCommand(program);
  return program;
}

/**
 * `gemini-batch … | head`: once the reader is gone, a write to stdout fails
 * with EPIPE, asynchronously, as an 'error' event nobody listens to, which
 * Node turns into a crash with a stack trace. The reader left on purpose:
 * end quietly. (A run writing results to stdout sees the error in its own
 * pipeline too and stops there.)
 */
let stdoutGuarded = false;
function quietOnClosedStdout(): void {
  // Not judged by listenerCount: a loader (tsx) may have piped into stdout, which adds one.
  if (stdoutGuarded) return;
  stdoutGuarded = true;
  // Other errors reach whoever was writing: a run's pipeline reports them itself (and destroys
  // stdout with its own error when it fails, which must not be printed a second time here).
  process.stdout.on('error', () => undefined);
}

export async function main(argv: string[]): Promise<number> {
  quietOnClosedStdout();
  let code = EXIT_OK;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'node' });
    return code;
  } catch (err) {
    // Commander has already printed its message (or the help / version).
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    process.stderr.write(`${describeError(err)}\n`);
    return exitCodeOf(err);
  }
}
