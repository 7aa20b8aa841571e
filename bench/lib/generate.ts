/**
 * The input: Gemini batch JSONL request lines of about `lineBytes` bytes,
 * with mixed non-ASCII text (accents, Cyrillic, Greek, CJK, emoji, a few
 * characters that JSON must escape). Deterministic for a given size, and
 * cached: the file name carries the size and line length.
 */
import { closeSync, existsSync, openSync, readFileSync, renameSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
// The emulator's seeded PRNG: the same size always gives the same file.
import { mulberry32 as rng } from '../../src/emulator/prng.js';

const WORDS = [
  'the', 'batch', 'stream', 'record', 'model', 'answer', 'prompt', 'result', 'order', 'memory',
  'café', 'naïve', 'über', 'señor', 'façade', 'crème', 'brûlée', 'Ångström', 'smörgåsbord', 'jalapeño',
  'Zürich', 'São', 'Paulo', 'garçon', 'déjà', 'vu', 'piñata', 'Øresund', 'łódź', 'čeština',
  'привет', 'мир', 'данные', 'поток', 'καλημέρα', 'κόσμε', 'δεδομένα',
  '東京', '日本語', '中文字符', '数据流', '批处理', '한국어', '안녕하세요', 'こんにちは', 'カタカナ',
  '🚀', '😀', '🌍', '👩‍💻', '🎉', '🧪', '❤️', '🇫🇷', '✨', '🐍',
  '"quoted"', 'back\\slash', 'tab\there', 'new\nline', 'ασφάλεια', 'مرحبا', 'שלום', 'नमस्ते',
];
const WORD_BYTES = WORDS.map((w) => Buffer.byteLength(JSON.stringify(w)) - 2);


export interface Generated {
  path: string;
  bytes: number;
  records: number;
  cached: boolean;
}

/** Lines until `bytes` is reached (the last line may pass it by less than one line). */
export function generateInput(dir: string, bytes: number, lineBytes: number): Generated {
  const path = join(dir, `requests-${bytes}-${lineBytes}.jsonl`);
  const countPath = `${path}.records`;
  if (existsSync(path) && existsSync(countPath)) {
    const records = Number((JSON.parse(readFileSync(countPath, 'utf8')) as { records: number }).records);
    return { path, bytes: statSync(path).size, records, cached: true };
  }
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  const next = rng(0x5eed);
  let written = 0;
  let records = 0;
  let pending: string[] = [];
  let pendingBytes = 0;
  try {
    while (written + pendingBytes < bytes) {
      const key = `r${records}`;
      // {"key":"r1","request":{"contents":[{"role":"user","parts":[{"text":"..."}]}]}}\n
      const envelope = 74 + key.length;
      const target = lineBytes - envelope;
      let text = '';
      let textBytes = 0;
      while (textBytes < target) {
        const i = Math.floor(next() * WORDS.length);
        text += text ? ' ' + WORDS[i] : WORDS[i];
        textBytes += WORD_BYTES[i]! + (textBytes ? 1 : 0);
      }
      const line = `{"key":"${key}","request":{"contents":[{"role":"user","parts":[{"text":${JSON.stringify(text)}}]}]}}\n`;
      pending.push(line);
      pendingBytes += Buffer.byteLength(line);
      records++;
      if (pending.length === 4096) {
        written += writeSync(fd, pending.join(''));
        pending = [];
        pendingBytes = 0;
      }
    }
    if (pending.length) written += writeSync(fd, pending.join(''));
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  writeFileSync(countPath, JSON.stringify({ records }));
  return { path, bytes: statSync(path).size, records, cached: false };
}

/**
 * The image run's input: `count` short requests that ask for an IMAGE
 * (generationConfig.responseModalities), so the emulator's default responder
 * answers each with a ~1 MB base64 PNG-like part: result lines of ~1 MB.
 */
export function generateImageInput(dir: string, count: number, promptBytes = 12_000): Generated {
  const path = join(dir, `requests-images-${count}.jsonl`);
  const lines: string[] = [];
  const next = rng(0x1a6e);
  for (let i = 0; i < count; i++) {
    // A ~12 KB prompt (a scene described at length). Also keeps the emulator working: it writes the
    // answers to one 256 KiB read of requests as one string, and ~1,300 short requests' 1 MB answers
    // would pass V8's 512 MiB string limit there (its job FAILs with "Invalid string length").
    let text = `Draw picture ${i}: a café in Zürich at dawn, 東京 style 🎨.`;
    while (Buffer.byteLength(text) < promptBytes) text += ' ' + WORDS[Math.floor(next() * WORDS.length)];
    const request = {
      contents: [{ role: 'user', parts: [{ text }] }],
      generationConfig: { responseModalities: ['TEXT', 'IMAGE'] },
    };
    lines.push(JSON.stringify({ key: `r${i}`, request }));
  }
  writeFileSync(path, lines.join('\n') + '\n');
  return { path, bytes: statSync(path).size, records: count, cached: false };
}
