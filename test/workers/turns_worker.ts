/**
 * turns worker — one of the workers of reuse.test.ts that take turns on one heap: on its turns
 * (turn % workers === index) it runs a round (rounds.ts), records the heap's mapped bytes after
 * it, and passes the turn on. Loaded in the main thread (as `node --test` does with every .js file
 * under build/test) it does nothing.
 */

import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { attachHeap, type HeapHandle } from "../../src/index.js";
import { rng, roundSizes, runRound } from "./rounds.js";

export interface TurnsData {
  handle: HeapHandle;
  /** Word 0: the turn being played; word 1 + t: mapped KiB after turn t. */
  control: SharedArrayBuffer;
  index: number;
  workers: number;
  turns: number;
  seed: number;
  bytes: number;
}

if (!isMainThread && parentPort !== null) {
  const d = workerData as TurnsData;
  const heap = attachHeap(d.handle);
  const ctl = new Int32Array(d.control);
  const sizes = roundSizes(d.seed, d.bytes);
  const r = rng(d.seed + 1 + d.index);
  for (let turn = d.index; turn < d.turns; turn += d.workers) {
    for (let now = Atomics.load(ctl, 0); now !== turn; now = Atomics.load(ctl, 0)) Atomics.wait(ctl, 0, now, 1000);
    runRound(heap, sizes, r, turn);
    Atomics.store(ctl, 1 + turn, heap.stats().mappedBytes >>> 10);
    Atomics.store(ctl, 0, turn + 1);
    Atomics.notify(ctl, 0);
  }
  heap.dispose();
  parentPort.postMessage("done");
}
