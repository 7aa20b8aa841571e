/**
 * The emulator in its own process, so its CPU and memory are not the
 * client's. Prints `listening <url>` when ready; on SIGTERM writes its own
 * CPU and peak RSS to the result file and exits.
 *   node bench/emulator.child.ts RESULT_JSON PENDING_MS RUNNING_MS [KEY_LAST]
 *
 * Result lines look like the real service's (PROTOCOL.md): key LAST, field
 * order inside `response` varying. The emulator writes them so by default
 * since bba2090 (KEY_LAST=emulator, the default). KEY_LAST=proxy is for
 * older trees (BENCH_BUILD_DIR) whose emulator writes the key first: a small
 * proxy in front of it rewrites key-first download lines to key-last on the
 * way out (bench/lib/key-last.ts; lines already key-last pass untouched).
 * Uploads go straight to the emulator (its upload URL is absolute).
 */
import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { startEmulator } from '../src/emulator/index.js';
import { keyLastRewriter } from './lib/key-last.js';
import { report } from './lib/measure.js';

const [, , , pendingMs = '10', runningMs = '10', keyLast = 'emulator'] = process.argv;

const emu = await startEmulator({ port: 0, pendingMs: Number(pendingMs), runningMs: Number(runningMs) });
let url = emu.url;

if (keyLast === 'proxy') {
  const target = new URL(emu.url);
  const isDownload = (path: string) => path.includes(':download') || path.startsWith('/download/');
  const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
    const up = httpRequest(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        // A ranged download starts mid-line: pass it as is (the bench injects no faults, so none happen).
        const rewrite = answer.statusCode === 200 && isDownload(req.url ?? '');
        const done = rewrite ? pipeline(answer, keyLastRewriter(), res) : pipeline(answer, res);
        done.catch(() => res.destroy());
      },
    );
    up.on('error', () => res.destroy());
    pipeline(req, up).catch(() => res.destroy());
  });
  proxy.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
}

process.stdout.write(`listening ${url}\n`);

process.once('SIGTERM', () => {
  const cpu = process.cpuUsage();
  report({
    cpuS: Math.round((cpu.user + cpu.system) / 1e3) / 1e3,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
    keyLast,
  });
  void emu.close().finally(() => process.exit(0));
});
