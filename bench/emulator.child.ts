/**
 * The emulator in its own process, so its CPU and memory are not the
 * client's. Prints `listening <url>` when ready; on SIGTERM writes its own
 * CPU and peak RSS to the result file and exits.
 *   node --import tsx bench/emulator.child.ts RESULT_JSON PENDING_MS RUNNING_MS
 */
import { startEmulator } from '../src/emulator/index.js';
import { report } from './lib/measure.js';

const [, , , pendingMs = '10', runningMs = '10'] = process.argv;
const emu = await startEmulator({ port: 0, pendingMs: Number(pendingMs), runningMs: Number(runningMs) });
process.stdout.write(`listening ${emu.url}\n`);

process.once('SIGTERM', () => {
  const cpu = process.cpuUsage();
  report({
    cpuS: Math.round((cpu.user + cpu.system) / 1e3) / 1e3,
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 102.4) / 10,
  });
  void emu.close().finally(() => process.exit(0));
});
