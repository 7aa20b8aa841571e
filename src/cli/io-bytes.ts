/**
 * Bytes the CLI reads from INPUT and writes to OUT, published on a
 * diagnostics channel next to undici's body chunks: the bin's young-GC pacing
 * (v8-tuning.ts) counts them too. Free when nobody subscribes.
 */
import { channel } from 'node:diagnostics_channel';

export const IO_BYTES_CHANNEL = 'gemini-batch:io-bytes';

const ioBytes = channel(IO_BYTES_CHANNEL);

export function reportIoBytes(length: number): void {
  if (ioBytes.hasSubscribers) ioBytes.publish(length);
}
