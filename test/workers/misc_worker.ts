/**
 * misc worker — the workers of multiworker.test.ts other than the stress workers, chosen by
 * `workerData.mode` (protocol.ts describes each):
 * - "attach": attach, verify and free a block of the main thread, allocate one, dispose;
 * - "victim": allocate blocks into the transfer array, then loop until terminated;
 * - "grow": start with the others on a shared flag and allocate tens of MiB, growing the heap
 *   concurrently; report every live block's interval.
 * Loaded in the main thread (as `node --test` does with every .js file under build/test) it does
 * nothing.
 */

import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { attachHeap, type Heap } from "../../src/index.js";
import {
  HEADER_BYTES, between, checkAlignment, logBetween, makeId, rng, stressSize, verifyBlock, writeBlock,
} from "./blocks.js";
import { Ctl, type AttachData, type GrowData, type GrowReport, type MiscData, type VictimData } from "./protocol.js";

function attach(d: AttachData): void {
  const heap = attachHeap(d.handle);
  verifyBlock(heap, d.mainBlock, `worker tid ${heap.threadId}: the main thread's block`, d.mainId);
  heap.free(d.mainBlock);
  const id = makeId(1, 1);
  const len = 1000;
  const p = heap.malloc(len);
  if (p === 0) throw new Error("malloc returned 0");
  writeBlock(heap, p, id, len);
  const tid = heap.threadId;
  heap.dispose();
  parentPort!.postMessage({ type: "attached", tid, block: p, id });
}

function victim(d: VictimData): void {
  const heap = attachHeap(d.handle);
  const transfer = new Int32Array(d.transfer);
  const control = new Int32Array(d.control);
  const r = rng(d.seed);
  for (let i = 0; i < d.blocks; i++) {
    // Every eighth block is mid or large, so the victim owns pages of many kinds.
    const len = i % 8 === 7 ? logBetween(r, 1025, 1 << 20) : stressSize(r);
    const p = heap.malloc(len);
    if (p === 0) throw new Error(`victim: malloc(${len}) returned 0`);
    writeBlock(heap, p, makeId(2, i), len);
    Atomics.store(transfer, i, p);
  }
  parentPort!.postMessage({ type: "ready", tid: heap.threadId });
  if (d.loop === "compute") {
    // Plain JS, never inside a heap call: terminated here, the heap is consistent.
    let x = d.seed | 1;
    for (let i = 0; ; i++) {
      x = (Math.imul(x, 1103515245) + 12345) | 0;
      if ((i & 0xffff) === 0) Atomics.add(control, Ctl.PROGRESS, 1);
    }
  }
  if (d.loop === "grow" || d.loop === "pages") {
    // "grow": large blocks, never freed (nor touched: they cost address space, not memory): every
    // malloc grows the heap, under the heap lock. "pages": mid blocks (20 and 72 KiB), never
    // freed: every few mallocs take a new page.
    const [even, odd] = d.loop === "grow" ? [(16 << 20) + 1, 64 << 20] : [20480, 73728];
    for (let k = 0; k < d.churnSlots; k++) {
      const q = heap.malloc(k % 2 === 0 ? even : odd);
      transfer[d.blocks + k] = q;
      if (q === 0) break; // the heap is full: wait to be terminated
      Atomics.add(control, Ctl.PROGRESS, 1);
    }
    for (;;) Atomics.add(control, Ctl.PROGRESS, 1);
  }
  if (d.loop === "stats") {
    for (;;) {
      heap.stats();
      Atomics.add(control, Ctl.PROGRESS, 1);
    }
  }
  // "churn": mallocs and frees, so terminate() most likely lands inside a heap call. Each slot
  // records its block: the pointer from the moment malloc returns it, its negation while it is
  // being freed (plain stores: no interrupt check lies between a call's return and them).
  const base = d.blocks;
  for (let n = 0; ; n++) {
    const i = base + between(r, 0, d.churnSlots - 1);
    const p = transfer[i]!;
    if (p === 0) {
      const len = d.churnSizes === "spans" ? logBetween(r, 64 << 10, 2 << 20) : stressSize(r);
      const q = heap.malloc(len);
      transfer[i] = q;
      if (q === 0) throw new Error(`victim: malloc(${len}) returned 0`);
      writeBlock(heap, q, makeId(3, n), Math.min(len, HEADER_BYTES)); // the header only: stay in heap calls
    } else {
      transfer[i] = -p;
      heap.free(p);
      transfer[i] = 0;
    }
    if ((n & 63) === 0) {
      Atomics.add(control, Ctl.PROGRESS, 1);
      // A survivor (not a victim) is told to stop: it frees its blocks and leaves.
      if (Atomics.load(control, Ctl.STOP) !== 0) break;
    }
  }
  for (let i = base; i < base + d.churnSlots; i++) {
    if (transfer[i]! > 0) heap.free(transfer[i]!);
    transfer[i] = 0;
  }
  heap.dispose();
}

function grow(d: GrowData): void {
  const heap: Heap = attachHeap(d.handle);
  const control = new Int32Array(d.control);
  const r = rng(d.seed);
  Atomics.add(control, Ctl.ARRIVED, 1);
  Atomics.notify(control, Ctl.ARRIVED);
  while (Atomics.load(control, Ctl.GO) === 0) Atomics.wait(control, Ctl.GO, 0, 1000);
  const growths0 = heap.stats().growths;
  const ptrs: number[] = [];
  const ids: number[] = [];
  let live = 0;
  let allocs = 0;
  let frees = 0;
  const where = (what: string) => `grow worker tid ${heap.threadId}: ${what}`;
  while (live < d.bytes) {
    if (ptrs.length > 0 && r() < 0.2) {
      const i = between(r, 0, ptrs.length - 1);
      const p = ptrs[i]!;
      const h = verifyBlock(heap, p, where("block before free"), ids[i]);
      live -= Math.max(h.len, HEADER_BYTES);
      heap.free(p);
      frees++;
      ptrs[i] = ptrs[ptrs.length - 1]!;
      ids[i] = ids[ids.length - 1]!;
      ptrs.pop();
      ids.pop();
      continue;
    }
    const x = r();
    const len = x < 0.85 ? between(r, 0, 1024) : x < 0.97 ? logBetween(r, 1025, 256 << 10) : between(r, (256 << 10) + 1, 2 << 20);
    const p = heap.malloc(len);
    if (p === 0) throw new Error(where(`malloc(${len}) returned 0 with ${live} bytes live`));
    const usable = heap.usableSize(p);
    if (usable < Math.max(len, HEADER_BYTES)) throw new Error(where(`malloc(${len}) gave usableSize ${usable}`));
    checkAlignment(p, usable, where(`malloc(${len})`));
    const id = makeId(d.origin, allocs++);
    writeBlock(heap, p, id, len);
    ptrs.push(p);
    ids.push(id);
    live += Math.max(len, HEADER_BYTES);
  }
  const growthsSeen = heap.stats().growths - growths0;
  // Wait until every worker has written all its blocks, then verify ours: a block another worker
  // was given over ours would have overwritten it.
  Atomics.add(control, Ctl.FINISHED, 1);
  Atomics.notify(control, Ctl.FINISHED);
  for (let f = Atomics.load(control, Ctl.FINISHED); f < d.workers; f = Atomics.load(control, Ctl.FINISHED)) {
    Atomics.wait(control, Ctl.FINISHED, f, 1000);
  }
  const blocks = new Float64Array(ptrs.length * 4);
  for (let i = 0; i < ptrs.length; i++) {
    const h = verifyBlock(heap, ptrs[i]!, where("block after every worker finished"), ids[i]);
    blocks.set([ptrs[i]!, heap.usableSize(ptrs[i]!), h.id, h.len], i * 4);
  }
  const report: GrowReport = { type: "grown", tid: heap.threadId, blocks, allocs, frees, growthsSeen };
  heap.dispose();
  parentPort!.postMessage(report, [blocks.buffer]);
}

if (!isMainThread && parentPort !== null) {
  const d = workerData as MiscData;
  if (d.mode === "attach") attach(d);
  else if (d.mode === "victim") victim(d);
  else grow(d);
}
