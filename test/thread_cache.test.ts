/**
 * The thread cache (thread_cache.ts) and the double frees it must not let through:
 * - freed blocks wait in the cache and are handed out again LIFO; stats() counts them as free,
 *   never live; check() verifies them; the cache stays within its cap, draining to its pages;
 * - collect() and dispose() hand every cached block back to its page (the heap ends empty);
 * - a worker terminated with full caches loses nothing: reclaimThread returns its cached blocks,
 *   the blocks it handed out stay intact, and once they are freed the heap is empty;
 * - double frees in default mode, each a RangeError naming the pointer, with check() clean and
 *   every other block's pattern intact after it: the immediate repeat; a repeat after other
 *   frees; a repeat after the block was drained to its page; a repeat of a block freed by another
 *   worker (on the owner's thread-free list), by that worker and by the owner; a block freed by a
 *   worker that has ended (abandoned page); a live block whose second word holds the heap's free
 *   key by chance is freed normally.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Worker } from "node:worker_threads";
import { attachHeap, createHeap, PAGE_SIZE, SIZE_CLASSES, type Heap } from "../src/index.js";
import { H } from "../src/layout.js";
import { CLASS_CACHE_CAP } from "../src/size_classes.js";
import { assertPattern, fillPattern } from "./patterns.js";

const MiB = 1 << 20;

/** Blocks with patterns; `verifyAll` checks every one still holds its own. */
class Blocks {
  readonly live = new Map<number, { id: number; n: number }>();
  private nextId = 0;
  constructor(private readonly heap: Heap) {}

  add(n: number): number {
    const p = this.heap.malloc(n);
    assert.notEqual(p, 0);
    const id = ++this.nextId;
    fillPattern(this.heap.u8, p, n, id);
    this.live.set(p, { id, n });
    return p;
  }

  free(p: number, heap = this.heap): void {
    heap.free(p);
    this.live.delete(p);
  }

  verifyAll(what: string): void {
    for (const [p, b] of this.live) assertPattern(this.heap.u8, p, b.n, b.id, `${what}: block ${p}`);
  }
}

function assertClean(heap: Heap, what: string): void {
  const rep = heap.check();
  assert.deepEqual(rep.problems.map((p) => `[${p.kind}] ${p.message}`), [], what);
}

/** free(p) throws a RangeError that names p and says "double free", and changes nothing. */
function assertDoubleFree(heap: Heap, p: number, blocks: Blocks, what: string, by: Heap = heap): void {
  const before = heap.stats();
  assert.throws(
    () => by.free(p),
    (e: Error) => e instanceof RangeError && e.message.includes(`0x${p.toString(16)}`) && /double free/.test(e.message),
    what,
  );
  assert.deepEqual(heap.stats(), before, `${what}: stats() changed`);
  assertClean(heap, what);
  blocks.verifyAll(what);
}

const cls100 = SIZE_CLASSES.indexOf(112);

describe("the thread cache", () => {
  test("a freed block waits in the cache, counted free, and is handed out again first", () => {
    const heap = createHeap({ maxBytes: 16 * MiB });
    const blocks = new Blocks(heap);
    const ps = Array.from({ length: 10 }, () => blocks.add(100));
    blocks.free(ps[3]!);
    blocks.free(ps[7]!);
    const s = heap.stats();
    assert.equal(s.liveBlocks, 8);
    assert.ok(s.cachedBlocks >= 2, `${s.cachedBlocks} blocks cached`);
    assert.equal(s.classes.find((c) => c.size === 112)!.liveBlocks, 8);
    assert.equal(s.threads.length, 1);
    assert.equal(s.threads[0]!.cachedBytes, s.cachedBytes);
    assertClean(heap, "with blocks in the cache");
    assert.equal(heap.malloc(100), ps[7], "LIFO: the last block freed comes back first");
    assert.equal(heap.malloc(100), ps[3]);
  });

  test("the cache stays within its cap: frees past it drain to the pages", () => {
    const heap = createHeap({ maxBytes: 16 * MiB });
    const blocks = new Blocks(heap);
    const ps = Array.from({ length: 3000 }, () => blocks.add(100)); // six pages of 585 blocks
    for (const p of ps) {
      blocks.free(p);
      const c = heap.stats().classes.find((k) => k.size === 112)!;
      assert.ok(c.cachedBlocks <= CLASS_CACHE_CAP[cls100]!, `${c.cachedBlocks} cached, cap ${CLASS_CACHE_CAP[cls100]}`);
    }
    assertClean(heap, "after 3000 frees");
    const s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.ok(s.cachedBytes <= s.cacheLimitBytes);
    // The pages of the cached blocks may stay; the others went back.
    assert.ok(s.heapBytes <= s.classes.reduce((sum, c) => sum + c.cachedBlocks, 0) * PAGE_SIZE, `emptied pages went back to the heap (${s.heapBytes / PAGE_SIZE} pages in use)`);
  });

  test("collect() and dispose() return every cached block to its page", () => {
    const heap = createHeap({ maxBytes: 16 * MiB, shared: true });
    const other = attachHeap(heap.handle());
    for (const h of [heap, other]) {
      const ps = [16, 100, 1000, 5000, 20_000, 60_000].flatMap((n) => Array.from({ length: 20 }, () => h.malloc(n)));
      for (const p of ps) h.free(p);
    }
    assert.ok(heap.stats().cachedBlocks > 0);
    other.dispose();
    assert.equal(heap.stats().threads.length, 1, "the disposed worker is gone");
    heap.collect();
    const s = heap.stats();
    assert.equal(s.cachedBlocks, 0);
    assert.equal(s.heapBytes, 0, "no page in use");
    assertClean(heap, "after collect()");
  });

  test("a worker terminated with full caches loses nothing", async () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const out = new Int32Array(new SharedArrayBuffer(4 * 300));
    const url = new URL("../src/index.js", import.meta.url).href;
    const worker = new Worker(
      `const { workerData, parentPort } = require("node:worker_threads");
      import(workerData.url).then(({ attachHeap }) => {
        const heap = attachHeap(workerData.handle);
        const out = new Int32Array(workerData.out);
        const sizes = [16, 48, 100, 500, 1000, 3000, 9000, 30000, 60000];
        // Fill every cache: allocate many blocks of each size, then free all but those handed out
        // (all the mallocs first: a growth of the heap empties the caches of the thread that grows it).
        const ps = sizes.map((n) => Array.from({ length: 200 }, () => heap.malloc(n)));
        for (const blocks of ps) {
          for (let i = 0; i < blocks.length; i++) if (i % 7 !== 0) heap.free(blocks[i]); else out[Atomics.add(out, 0, 1) + 1] = blocks[i];
        }
        for (let i = 1; i <= out[0]; i++) heap.u8.fill(i & 255, out[i], out[i] + 16);
        parentPort.postMessage({ tid: heap.threadId, cached: heap.stats().threads.find((t) => t.threadId === heap.threadId).cachedBlocks });
        for (;;) {}
      });`,
      { eval: true, workerData: { url, handle: heap.handle(), out: out.buffer } },
    );
    const { tid, cached } = await new Promise<{ tid: number; cached: number }>((resolve) => worker.once("message", resolve));
    assert.ok(cached > 50, `the worker's caches hold ${cached} blocks`);
    await worker.terminate();
    assert.equal(heap.stats().threads.find((t) => t.threadId === tid)!.cachedBlocks, cached, "its cache is still in its slot");
    assert.ok(heap.reclaimThread(tid, { ended: true }) > 0);
    assertClean(heap, "after reclaimThread");
    const live = out[0]!;
    assert.equal(heap.stats().liveBlocks, live, "only the blocks it handed out are live");
    for (let i = 1; i <= live; i++) {
      for (let k = 0; k < 16; k++) assert.equal(heap.u8[out[i]! + k], i & 255);
      heap.free(out[i]!);
    }
    heap.collect();
    const s = heap.stats();
    assert.equal(s.liveBytes, 0);
    assert.equal(s.heapBytes, 0, "every page came back");
    assertClean(heap, "at the end");
  });
});

describe("double frees in default mode", () => {
  test("the immediate repeat", () => {
    const heap = createHeap({ maxBytes: 16 * MiB });
    const blocks = new Blocks(heap);
    for (let i = 0; i < 20; i++) blocks.add(100);
    const p = blocks.add(100);
    blocks.free(p);
    assertDoubleFree(heap, p, blocks, "free(p); free(p)");
    // The heap hands the block out once, not twice.
    const a = heap.malloc(100);
    const b = heap.malloc(100);
    assert.notEqual(a, b);
  });

  test("a repeat after other frees, for every size range", () => {
    for (const n of [8, 24, 100, 1000, 5000, 40_000, 100_000]) {
      const heap = createHeap({ maxBytes: 32 * MiB });
      const blocks = new Blocks(heap);
      const ps = Array.from({ length: 12 }, () => blocks.add(n));
      blocks.free(ps[2]!);
      for (const q of [ps[5]!, ps[0]!, ps[9]!]) blocks.free(q);
      assertDoubleFree(heap, ps[2]!, blocks, `size ${n}: a repeat after three other frees`);
      assertDoubleFree(heap, ps[9]!, blocks, `size ${n}: a repeat of the last free`);
    }
  });

  test("a repeat after the block was drained to its page", () => {
    const heap = createHeap({ maxBytes: 16 * MiB });
    const blocks = new Blocks(heap);
    const ps = Array.from({ length: 300 }, () => blocks.add(100));
    blocks.free(ps[0]!);
    // Enough frees after it to drain the cache past it: it now lies on its page's free list.
    for (let i = 1; i < 200; i++) blocks.free(ps[i]!);
    assertDoubleFree(heap, ps[0]!, blocks, "a repeat after the block was drained");
    heap.collect();
    assertDoubleFree(heap, ps[150]!, blocks, "a repeat after collect()");
  });

  test("a repeat of a block freed by another worker", () => {
    const heap = createHeap({ maxBytes: 16 * MiB, shared: true });
    const other = attachHeap(heap.handle());
    const blocks = new Blocks(heap);
    const ps = Array.from({ length: 20 }, () => blocks.add(100));
    blocks.free(ps[4]!, other); // on its page's thread-free list
    blocks.free(ps[5]!, other);
    assertDoubleFree(heap, ps[4]!, blocks, "the other worker frees it again", other);
    assertDoubleFree(heap, ps[5]!, blocks, "the owner frees it again");
    // The other worker's own block, freed by the owner and then by the other worker.
    const q = other.malloc(100);
    heap.free(q);
    assertDoubleFree(heap, q, blocks, "a repeat by the block's own worker", other);
    other.dispose();
  });

  test("a repeat into a page whose worker has left (abandoned)", () => {
    const heap = createHeap({ maxBytes: 16 * MiB, shared: true });
    const other = attachHeap(heap.handle());
    const blocks = new Blocks(heap);
    blocks.add(100);
    const qs = Array.from({ length: 10 }, () => other.malloc(100));
    other.dispose();
    heap.free(qs[3]!);
    assertDoubleFree(heap, qs[3]!, blocks, "a repeat into an abandoned page");
  });

  test("a live block whose second word holds the free key by chance is freed, not refused", () => {
    const heap = createHeap({ maxBytes: 16 * MiB });
    const blocks = new Blocks(heap);
    for (let i = 0; i < 5; i++) blocks.add(100);
    const p = heap.malloc(100);
    const i32 = new Int32Array(heap.buffer, 0, heap.buffer.byteLength >>> 2);
    i32[(p >>> 2) + 1] = i32[H.FREE_KEY]!; // base 0: the header is at word 0
    heap.free(p);
    assert.equal(heap.stats().liveBlocks, 5);
    assertClean(heap, "after freeing a block that held the key");
    blocks.verifyAll("after");
  });
});
