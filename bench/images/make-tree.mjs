#!/usr/bin/env node
// Build a tree of image-like files: FILES files of exponentially distributed sizes (mean MEAN_KB), spread over
// nested directories, all with one mtime. Names, sizes and bytes depend only on SEED, so that two hosts build the
// same tree without copying it. Usage: make-tree.mjs DIR   (env: FILES=12000 MEAN_KB=240 SEED=1 SIZES=exp|near)
// SIZES=near: every file within 10% of MEAN_KB (a tree of many similar small files) instead of exponential sizes.
import { createCipheriv, createHash } from 'node:crypto';
import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: make-tree.mjs DIR  (env: FILES=12000 MEAN_KB=240 SEED=1)\n');
  process.exit(2);
}
const files = Number(process.env.FILES ?? 12000);
const meanBytes = Number(process.env.MEAN_KB ?? 240) * 1024;
const seed = String(process.env.SEED ?? 1);
const near = process.env.SIZES === 'near';
const mtime = new Date('2024-06-01T12:00:00Z');

let state = Number.parseInt(createHash('sha256').update(seed).digest('hex').slice(0, 8), 16) >>> 0 || 1;
// xorshift32 for sizes; AES-128-CTR keystream (seeded) for the bytes: reproducible and fast
const rand = () => {
  state ^= state << 13;
  state >>>= 0;
  state ^= state >>> 17;
  state ^= state << 5;
  state >>>= 0;
  return state / 4294967296;
};
const key = createHash('sha256').update(`bytes ${seed}`).digest().subarray(0, 16);
const cipher = createCipheriv('aes-128-ctr', key, Buffer.alloc(16));
const zeros = Buffer.alloc(16 * 1024 * 1024);
let total = 0;
for (let i = 0; i < files; i++) {
  const size = Math.max(1, Math.min(Math.round(near ? (0.9 + 0.2 * rand()) * meanBytes : -Math.log(1 - rand()) * meanBytes), zeros.length));
  const sub = join(dir, `y${2000 + (i % 7)}`, `m${String(i % 97).padStart(2, '0')}`);
  mkdirSync(sub, { recursive: true });
  const path = join(sub, `img_${String(i).padStart(7, '0')}.jpg`);
  writeFileSync(path, cipher.update(zeros.subarray(0, size)));
  utimesSync(path, mtime, mtime);
  total += size;
}
process.stdout.write(`${files} files, ${total} bytes in ${dir}\n`);
