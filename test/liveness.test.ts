/**
 * Reclaiming a terminated worker only once it can no longer run (liveness.ts), in Node:
 * - reclaimThread refuses a worker that may still be running, naming reclaimWhenGone; the heap
 *   and the worker are untouched;
 * - reclaimWhenGone called right after terminate(), while the worker is still busy allocating and
 *   freeing, waits for its exit and then takes its pages over: blocks it handed over stay intact,
 *   check() is clean, nothing is lost — 10 rounds with the worker stopped at random points;
 * - after a worker that disposed, reclaimWhenGone finds nothing to take (0);
 * - without Web Locks and without a Worker to watch, reclaimWhenGone rejects with a TypeError.
 * (The Web Locks path is exercised in Chromium by the browser tests.)
 */

import assert from "node:assert/strict";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { createHeap, reclaimWhenGone, type Heap } from "../src/index.js";

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
  if (workerData.dispose) return;
  // Busy in the heap until it is stopped: allocate and free in a ring, growing and shrinking.
  const ring = new Int32Array(512);
  for (let i = 0, x = workerData.seed | 1; ; i++) {
    x ^= x << 13; x ^= x >>> 17; x ^= x << 5;
    const k = x & 511;
    if (ring[k] !== 0) heap.free(ring[k]);
    ring[k] = heap.malloc(16 + ((x >>> 9) % (i & 1024 ? 3000 : 300)));
  }
});`;

function start(heap: Heap, dispose: boolean, seed = 1): { worker: Worker; out: Int32Array; tid: Promise<number> } {
  const out = new Int32Array(new SharedArrayBuffer(4 * 300));
  const url = new URL("../src/index.js", import.meta.url).href;
  const worker = new Worker(WORKER, { eval: true, workerData: { url, handle: heap.handle(), out: out.buffer, dispose, seed } });
  return { worker, out, tid: new Promise<number>((resolve) => worker.once("message", resolve)) };
}

function verifyAndFree(heap: Heap, out: Int32Array): void {
  for (let i = 0; i < out.length; i++) {
    const p = out[i]!;
    for (let k = 0; k < 24; k++) assert.equal(heap.u8[p + k], i & 255, `block ${i} intact`);
    heap.free(p);
  }
}

function assertEmpty(heap: Heap): void {
  heap.collect();
  const s = heap.stats();
  assert.equal(s.liveBlocks, 0);
  assert.equal(s.heapBytes, 0, "no page left in use");
  assert.deepEqual(heap.check().problems, []);
}

test("reclaimThread refuses a worker that may still be running", async () => {
  const heap = createHeap({ maxBytes: 64 << 20 });
  const { worker, out, tid } = start(heap, false);
  const id = await tid;
  const before = heap.stats().threads.map((t) => t.threadId);
  assert.throws(() => heap.reclaimThread(id), (e: Error) => e.message.includes(`thread ${id} may still be running`) && e.message.includes("reclaimWhenGone"));
  assert.deepEqual(heap.stats().threads.map((t) => t.threadId), before, "its slot is untouched");
  worker.terminate();
  assert.ok((await reclaimWhenGone(heap, worker, id)) > 0);
  verifyAndFree(heap, out);
  assert.ok(heap.stats().liveBlocks <= 512 + 2, "no more than its ring's blocks (and two cut off mid-call) are left");
  assert.deepEqual(heap.check().problems, []);
});

test("reclaimWhenGone right after terminate() waits for the busy worker's exit: 10 rounds, nothing corrupt", async () => {
  const heap = createHeap({ maxBytes: 256 << 20 });
  for (let round = 0; round < 10; round++) {
    const { worker, out, tid } = start(heap, false, round + 1);
    const id = await tid;
    await new Promise((resolve) => setTimeout(resolve, 5 + round * 3)); // let it churn a while
    worker.terminate(); // not awaited: the worker may run on for a while
    const pages = await reclaimWhenGone(heap, worker, id);
    assert.ok(pages > 0, `round ${round}: pages taken over`);
    assert.deepEqual(heap.check().problems, [], `round ${round}: check()`);
    verifyAndFree(heap, out);
  }
  // The ring blocks of the dead workers are lost with them (a block held only in a dead worker's
  // variables is, as in any program), and per worker at most a block malloc returned but the ring
  // did not get yet, and one a drain of its cache had taken off the list: the heap holds no more.
  const s = heap.stats();
  assert.ok(s.liveBlocks <= 10 * (512 + 2), `${s.liveBlocks} blocks left, at most the rings' and two per worker`);
  assert.deepEqual(heap.check().problems, []);
});

test("reclaimWhenGone after a worker that disposed finds nothing to take over", async () => {
  const heap = createHeap({ maxBytes: 64 << 20 });
  const { worker, out, tid } = start(heap, true);
  const id = await tid;
  await worker.terminate();
  assert.equal(await reclaimWhenGone(heap, worker, id), 0);
  verifyAndFree(heap, out);
  assertEmpty(heap);
});

test("reclaimWhenGone without Web Locks and without a Worker rejects with a TypeError", async () => {
  const heap = createHeap({ maxBytes: 16 << 20 });
  await assert.rejects(reclaimWhenGone(heap, undefined, 7), (e: Error) => e instanceof TypeError && /Web Locks/.test(e.message));
  await assert.rejects(reclaimWhenGone(heap, undefined, heap.threadId), RangeError);
});
