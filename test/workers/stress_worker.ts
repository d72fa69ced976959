/**
 * stress worker — one worker of the multi-worker stress test (multiworker.test.ts) and of the
 * soak (soak.ts), in the style of mimalloc's test-stress: it attaches to the heap, then runs a
 * random mix of operations over the blocks it keeps and the shared transfer array:
 * - malloc of sizes across all classes (stressSize), filled with header + pattern;
 * - moving a block into a random slot of the transfer array with Atomics.exchange and taking
 *   whatever was there (a block of another worker, or of an earlier round): it is verified and
 *   then freed (a cross-worker free, most of the time) or kept;
 * - free of a kept block (verified first), realloc (the prefix must survive), calloc (must be
 *   zero), alignedAlloc (must be aligned).
 * At the end it frees every block it kept, posts its counts, and either disposes its heap and
 * exits, or stays idle until the main thread terminates it (and reclaims its pages).
 *
 * Any failure throws: the main thread sees an "error" event naming the block and the damage.
 * Started by the main thread only; loaded in the main thread (as `node --test` does with every
 * .js file under build/test) it does nothing.
 */

import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { attachHeap, type Heap } from "../../src/index.js";
import {
  HEADER_BYTES, between, checkAlignment, logBetween, makeId, originOf, requestFor, rng, stressSize, verifyBlock, writeBlock,
} from "./blocks.js";
import { findPatternMismatch } from "../patterns.js";
import { Ctl, type StressCounts, type StressMessage, type StressWorkerData } from "./protocol.js";

function post(m: StressMessage): void {
  parentPort!.postMessage(m);
}

function run(d: StressWorkerData): void {
  const heap: Heap = attachHeap(d.handle);
  const tid = heap.threadId;
  post({ type: "attached", tid });
  const transfer = new Int32Array(d.transfer);
  const control = new Int32Array(d.control);
  const r = rng(d.seed);
  const origin = d.origin & 0x3ff;
  const checked = d.checked;
  const counts: StressCounts = {
    ops: 0, allocs: 0, frees: 0, transfersIn: 0, transfersOut: 0, transferFrees: 0, crossFrees: 0, fromEarlierRounds: 0,
    reallocs: 0, callocs: 0, aligned: 0, largest: 0,
  };
  // The blocks this worker keeps, and their ids.
  const ptrs: number[] = [];
  const ids: number[] = [];
  let counter = 0;
  const where = (what: string) => `worker tid ${tid} (origin ${d.origin}), op ${counts.ops}, ${what}`;

  const allocate = (): [number, number] => {
    const len = stressSize(r);
    const p = heap.malloc(requestFor(len, checked));
    if (p === 0) throw new Error(where(`malloc(${len}) returned 0 (heap exhausted?) — stats ${JSON.stringify(heap.stats())}`));
    const usable = heap.usableSize(p);
    if (usable < Math.max(len, HEADER_BYTES)) throw new Error(where(`malloc(${len}) gave ${p} with usableSize ${usable}`));
    checkAlignment(p, usable, where(`malloc(${len})`));
    const id = makeId(origin, counter++);
    writeBlock(heap, p, id, len);
    counts.allocs++;
    if (len > counts.largest) counts.largest = len;
    return [p, id];
  };

  const freeBlock = (p: number, id: number | undefined, what: string): void => {
    verifyBlock(heap, p, where(what), id);
    heap.free(p);
    counts.frees++;
  };

  /** Removes kept block i (swapping the last into its place); returns [ptr, id]. */
  const take = (i: number): [number, number] => {
    const p = ptrs[i]!;
    const id = ids[i]!;
    ptrs[i] = ptrs[ptrs.length - 1]!;
    ids[i] = ids[ids.length - 1]!;
    ptrs.pop();
    ids.pop();
    return [p, id];
  };

  const keep = (p: number, id: number): void => {
    if (ptrs.length < d.retain) {
      ptrs.push(p);
      ids.push(id);
    } else {
      const i = between(r, 0, ptrs.length - 1);
      freeBlock(ptrs[i]!, ids[i]!, "free of a kept block to make room");
      ptrs[i] = p;
      ids[i] = id;
    }
  };

  for (let op = 0; op < d.iterations; op++) {
    counts.ops = op;
    if ((op & 255) === 0 && Atomics.load(control, Ctl.STOP) !== 0) break;
    const x = r();
    if (x < 0.42 || ptrs.length === 0) {
      const [p, id] = allocate();
      keep(p, id);
    } else if (x < 0.7) {
      // Into the transfer array; out comes whatever another worker (or round) left there.
      const [p, id] = take(between(r, 0, ptrs.length - 1));
      verifyBlock(heap, p, where("block about to be transferred"), id);
      const old = Atomics.exchange(transfer, between(r, 0, transfer.length - 1), p | 0) >>> 0;
      counts.transfersIn++;
      if (old !== 0) {
        const h = verifyBlock(heap, old, where("block taken from the transfer array"));
        counts.transfersOut++;
        if (((originOf(h.id) - d.roundBase) & 0x3ff) >= d.roundSize) counts.fromEarlierRounds++;
        if (r() < 0.6) {
          heap.free(old);
          counts.frees++;
          counts.transferFrees++;
          if (originOf(h.id) !== origin) counts.crossFrees++;
        } else {
          keep(old, h.id);
        }
      }
    } else if (x < 0.76) {
      // realloc: the block keeps its contents up to the smaller size.
      const i = between(r, 0, ptrs.length - 1);
      const p = ptrs[i]!;
      const id = ids[i]!;
      const h = verifyBlock(heap, p, where("block before realloc"), id);
      const len = Math.max(1, r() < 0.5 ? between(r, 1, 2 * Math.max(h.len, 64)) : stressSize(r)); // realloc(p, 0) frees
      const q = heap.realloc(p, requestFor(len, checked));
      if (q === 0) throw new Error(where(`realloc(${p}, ${len}) returned 0`));
      const keepLen = Math.min(h.len, len);
      const usable = heap.usableSize(q);
      if (usable < Math.max(len, HEADER_BYTES)) throw new Error(where(`realloc to ${len} gave usableSize ${usable}`));
      checkAlignment(q, usable, where(`realloc to ${len}`));
      // The header still says the old length: the id word and the pattern of the kept prefix.
      const u8 = heap.u8;
      if (keepLen >= 4) {
        const w0 = new Int32Array(u8.buffer, q, 1)[0]! >>> 0;
        if (w0 !== id) throw new Error(where(`realloc(${p} → ${q}, ${h.len} → ${len}): the id word became ${w0}, expected ${id}`));
      }
      if (keepLen > HEADER_BYTES) {
        const k = findPatternMismatch(u8, q + HEADER_BYTES, keepLen - HEADER_BYTES, id);
        if (k >= 0) {
          throw new Error(where(`realloc(${p} → ${q}, ${h.len} → ${len}): byte ${HEADER_BYTES + k} of the kept prefix changed`));
        }
      }
      writeBlock(heap, q, id, len);
      ptrs[i] = q;
      counts.reallocs++;
    } else if (x < 0.78) {
      // calloc: zeroed, then filled like any block.
      const len = r() < 0.9 ? between(r, 0, 512) : logBetween(r, 513, 65536);
      const n = requestFor(len, checked);
      const [count, size] = n > 0 && n % 8 === 0 ? [8, n / 8] : [1, n];
      const p = heap.calloc(count, size);
      if (p === 0) throw new Error(where(`calloc(${count}, ${size}) returned 0`));
      const u8 = heap.u8;
      for (let k = 0; k < n; k++) {
        if (u8[p + k] !== 0) throw new Error(where(`calloc(${count}, ${size}) at ${p}: byte ${k} is ${u8[p + k]}, not 0`));
      }
      const id = makeId(origin, counter++);
      writeBlock(heap, p, id, len);
      counts.allocs++;
      counts.callocs++;
      keep(p, id);
    } else if (x < 0.79) {
      // alignedAlloc: aligned as asked.
      const alignment = 1 << between(r, 5, 16);
      const len = r() < 0.8 ? between(r, 0, 2048) : stressSize(r);
      const p = heap.alignedAlloc(alignment, requestFor(len, checked));
      if (p === 0) throw new Error(where(`alignedAlloc(${alignment}, ${len}) returned 0`));
      if (p % alignment !== 0) throw new Error(where(`alignedAlloc(${alignment}, ${len}) gave ${p}, not aligned`));
      const id = makeId(origin, counter++);
      writeBlock(heap, p, id, len);
      counts.allocs++;
      counts.aligned++;
      keep(p, id);
    } else {
      const [p, id] = take(between(r, 0, ptrs.length - 1));
      freeBlock(p, id, "free of a kept block");
    }
  }
  counts.ops++;
  // Free everything kept; what is in the transfer array survives the worker.
  while (ptrs.length > 0) {
    const p = ptrs.pop()!;
    const id = ids.pop()!;
    freeBlock(p, id, "free of a kept block at the end");
  }
  post({ type: "done", counts });
  if (d.ending === "dispose") {
    heap.dispose();
    post({ type: "disposed" });
  } else {
    post({ type: "idle" });
    setInterval(() => {}, 1 << 30); // idle until terminated
  }
}

if (!isMainThread && parentPort !== null) {
  const d = workerData as StressWorkerData;
  try {
    run(d);
  } catch (e) {
    Atomics.store(new Int32Array(d.control), Ctl.FAILED, 1);
    Atomics.store(new Int32Array(d.control), Ctl.STOP, 1);
    throw e;
  }
}
