/**
 * reclaimOnExit: a terminated worker's pages are taken over on its exit event, and its blocks
 * (handed to the main thread) stay intact and freeable; a disposed worker leaves nothing.
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { createHeap, reclaimOnExit } from "../src/index.js";

const WORKER = `
const { workerData, parentPort } = require("node:worker_threads");
import(workerData.url).then(({ attachHeap }) => {
  const heap = attachHeap(workerData.handle);
  const out = new Int32Array(workerData.out);
  for (let i = 0; i < out.length; i++) {
    const p = heap.malloc(24 + (i % 200));
    heap.u8.fill(i & 255, p, p + 24);
    out[i] = p;
  }
  if (workerData.dispose) heap.dispose();
  parentPort.postMessage(heap.threadId);
  // Either way the worker runs until terminate(): one that ended on its own could exit before
  // the main thread took its message, and Node would then emit the exit before reclaimOnExit
  // (called after the message) listens for it.
  if (!workerData.dispose) for (;;) {}
  setInterval(() => {}, 1 << 30);
});`;

async function run(dispose: boolean): Promise<void> {
  const heap = createHeap({ maxBytes: 64 << 20 });
  const out = new Int32Array(new SharedArrayBuffer(4 * 500));
  const url = new URL("../src/index.js", import.meta.url).href;
  const worker = new Worker(WORKER, { eval: true, workerData: { url, handle: heap.handle(), out: out.buffer, dispose } });
  const tid = await new Promise<number>((resolve) => worker.once("message", resolve));
  const pagesBefore = heap.stats().heapBytes;
  let reclaimed = -1;
  const original = heap.reclaimThread.bind(heap);
  heap.reclaimThread = (id: number): number => (reclaimed = original(id));
  const exited = new Promise((resolve) => worker.once("exit", resolve));
  reclaimOnExit(heap, worker, tid);
  await worker.terminate();
  await exited;
  await new Promise((resolve) => setImmediate(resolve));
  assert.ok(pagesBefore > 0);
  if (dispose) assert.equal(reclaimed, 0, "a disposed worker leaves nothing to reclaim");
  else assert.ok(reclaimed > 0, `the terminated worker's pages were taken over (${reclaimed})`);
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    for (let k = 0; k < 24; k++) assert.equal(heap.u8[p + k], i & 255, `block ${i} intact`);
    heap.free(p);
  }
  heap.collect();
  const s = heap.stats();
  assert.equal(s.liveBlocks, 0);
  assert.equal(s.heapBytes, 0, "no page left in use");
  assert.ok(heap.check().ok);
}

test("reclaimOnExit takes over a terminated worker's pages on its exit event", () => run(false));
test("reclaimOnExit after a worker that disposed finds nothing to take over", () => run(true));
