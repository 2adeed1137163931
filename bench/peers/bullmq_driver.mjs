// Driver for BullMQ (Node): Queue.add one at a time, Queue.addBulk in chunks of 1,000; the
// worker is a BullMQ Worker in this process (concurrency 1 by default). Same protocol and stamp
// line format as bench/peers/common.py; packages are loaded from BENCH_NODE_DIR.
import { openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parseArgs } from 'node:util';

const require = createRequire(`${process.env.BENCH_NODE_DIR}/`);
const { Queue, Worker } = require('bullmq');

const { positionals, values: a } = parseArgs({
  allowPositionals: true,
  options: {
    url: { type: 'string' }, queue: { type: 'string', default: 'bench' },
    n: { type: 'string', default: '1000' }, mode: { type: 'string', default: 'single' },
    rate: { type: 'string', default: '100' }, concurrency: { type: 'string', default: 'default' },
  },
});
const command = positionals[0];
const n = Number(a.n);
const url = new URL(a.url);
const connection = { host: url.hostname, port: Number(url.port), maxRetriesPerRequest: null };
// Wall clock with sub-millisecond resolution: performance.timeOrigin can be off by a
// millisecond or more between processes, so anchor performance.now() on a Date.now() tick.
const tick0 = Date.now();
let tick = tick0;
while (tick === tick0) tick = Date.now();
const offset = tick - performance.now();
const now = () => (offset + performance.now()) / 1000;
const fmt = (x) => x.toFixed(6).padStart(17);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

let fd = -1;
function stamp(t) {
  const start = now();
  if (fd < 0) fd = openSync(process.env.BENCH_TIMES, 'a');
  writeSync(fd, `${fmt(t)} ${fmt(start)} ${fmt(now())}\n`);
}

if (command === 'worker') {
  const opts = { connection };
  if (a.concurrency !== 'default') opts.concurrency = Number(a.concurrency);
  new Worker(a.queue, async (job) => stamp(job.data.t), opts);
} else {
  const q = new Queue(a.queue, { connection });
  await q.waitUntilReady();
  const t0 = performance.now();
  if (command === 'pace') {
    const rate = Number(a.rate);
    for (let i = 0; i < n; i++) {
      const delay = t0 + (i * 1000) / rate - performance.now();
      if (delay > 0) await sleep(delay);
      await q.add('noop', { t: now() });
    }
  } else if (a.mode === 'single') {
    for (let i = 0; i < n; i++) await q.add('noop', { t: now() });
  } else {
    for (let i = 0; i < n; i += 1000) {
      const t = now();
      const size = Math.min(1000, n - i);
      await q.addBulk(Array.from({ length: size }, () => ({ name: 'noop', data: { t } })));
    }
  }
  const seconds = (performance.now() - t0) / 1000;
  console.log(JSON.stringify({ seconds }));
  await q.close();
}
