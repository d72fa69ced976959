/**
 * A heap lock that cannot be had: the heap stays whole, and the call succeeds when made again.
 *
 * A thread that cannot wait (a browser's main thread) gives up on the heap lock after 1 s and
 * throws (lock.ts): the holder is then a worker terminated inside the heap, and the page is told
 * to reclaim it and call again. So every slow path that takes the lock must leave this worker's
 * lists and the shared heap as they were, or at least whole, when the lock throws. Here the lock
 * of the heap under test throws at its k-th acquisition (a region whose `lock()` throws, put in
 * place of the heap's own), for every k until the call runs through, in malloc() (which adopts an
 * empty abandoned page and gives it back first), collect() (which adopts abandoned pages and
 * gives them back), dispose() and reclaimThread(). After each failure check() must be clean, the
 * same call again must succeed, every block the program holds must keep its pattern and be shown
 * by walk(), and once they are freed the heap must hold nothing.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { attachHeap, createHeap, type Heap } from "../src/index.js";
import type { Region } from "../src/region.js";
import { assertEmpty } from "./heap_state.js";
import { fillSparse, findSparseMismatch } from "./patterns.js";

const MiB = 1 << 20;

class LockRefused extends Error {}

/** The fields of a Heap that hold its region (the heap's own, its thread pages', its cache's). */
interface Internals {
  region: Region;
  pages: { rg: Region };
  cache: { rg: Region };
}

/** Makes the `at`-th heap lock `heap` takes from now on throw; returns the undo and whether it threw. */
function refuseLock(heap: Heap, at: number): { undo: () => void; refused: () => boolean } {
  const h = heap as unknown as Internals;
  const real = h.region;
  let calls = 0;
  const region = new Proxy(real, {
    get(target, prop) {
      if (prop === "lock") {
        return () => {
          if (++calls === at) throw new LockRefused(`the heap lock could not be had (injected, lock ${at})`);
          target.lock();
        };
      }
      const v: unknown = Reflect.get(target, prop, target);
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  h.region = h.pages.rg = h.cache.rg = region;
  return { undo: () => void (h.region = h.pages.rg = h.cache.rg = real), refused: () => calls >= at };
}

const SIZES = [24, 100, 100, 700, 3000, 3000, 20_000, 100_000, 400_000];
/** Sizes of classes SIZES does not touch: the ended worker's pages stay abandoned (no one adopts them). */
const GONE_SIZES = [40, 40, 200, 200, 1500, 1500, 6000, 6000, 50_000, 50_000];

/** Blocks the program holds, each with a pattern. */
class Held {
  private readonly blocks = new Map<number, { n: number; id: number }>();
  private nextId = 1;

  constructor(private readonly main: Heap) {}

  alloc(h: Heap, n: number): number {
    const p = h.malloc(n);
    assert.notEqual(p, 0);
    const id = this.nextId++;
    fillSparse(h.u8, p, n, id);
    this.blocks.set(p, { n, id });
    return p;
  }

  /** Frees `p` through `h` (another worker's free when it is not the allocating one). */
  free(h: Heap, p: number): void {
    h.free(p);
    this.blocks.delete(p);
  }

  /** Every held block keeps its pattern and walk() shows exactly them. */
  verify(where: string): void {
    const u8 = this.main.u8;
    for (const [p, { n, id }] of this.blocks) {
      const at = findSparseMismatch(u8, p, n, id, n);
      assert.equal(at, -1, `${where}: byte ${at} of block ${p} (${n} bytes) changed`);
    }
    const seen = new Set<number>();
    this.main.walk((b) => seen.add(b.ptr));
    assert.deepEqual([...seen].sort((a, b) => a - b), [...this.blocks.keys()].sort((a, b) => a - b), `${where}: walk() shows the blocks held`);
  }

  freeAll(): void {
    for (const p of [...this.blocks.keys()]) this.free(this.main, p);
  }
}

/**
 * A heap with a worker B that holds blocks, cached blocks and empty pages, and abandoned pages of
 * an ended worker: some with blocks still held, some whose blocks were all freed since.
 */
function scene(): Scene {
  const main = createHeap({ shared: true, maxBytes: 64 * MiB });
  const held = new Held(main);
  const b = attachHeap(main.handle());
  const mine = [...SIZES, ...SIZES].map((n) => held.alloc(b, n));
  for (const p of mine.filter((_, i) => i % 3 === 0)) held.free(b, p); // into its cache and pages
  // Then a worker that ends (after b's allocations, which would have adopted its pages).
  const gone = attachHeap(main.handle());
  const goneBlocks = GONE_SIZES.map((n) => held.alloc(gone, n));
  gone.dispose(); // its pages are abandoned
  // Both blocks of some classes freed (empty abandoned pages), one of others (pages still in use).
  for (const p of goneBlocks.filter((_, i) => i < 4 || i % 2 === 0)) held.free(main, p);
  return { main, b, held };
}

function finish(main: Heap, held: Held, where: string, others: Heap[]): void {
  held.verify(where);
  held.freeAll();
  for (const h of others) h.dispose();
  main.collect();
  assertEmpty(main, `${where}, once all is freed`);
  assert.ok(main.check().ok, `${where}: check() at the end`);
  main.dispose();
}

interface Scene {
  main: Heap;
  b: Heap;
  held: Held;
}

/**
 * Runs `call` on a fresh scene with the k-th lock of the heap `heapOf` gives refused, for every k
 * until it runs through; after each failure the same call again must succeed. `others` are the
 * heaps to dispose at the end.
 */
function everyLock(name: string, heapOf: (s: Scene) => Heap, call: (s: Scene) => void, others: (s: Scene) => Heap[]): void {
  test(`lock refused: ${name} fails at each lock it takes, leaves the heap whole, and succeeds when called again`, (t) => {
    let refusals = 0;
    for (let at = 1; ; at++) {
      const s = scene();
      const r = refuseLock(heapOf(s), at);
      let threw = false;
      try {
        call(s);
      } catch (e) {
        if (!(e instanceof LockRefused)) throw e;
        threw = true;
      } finally {
        r.undo();
      }
      if (!threw) {
        assert.ok(!r.refused(), `${name}: lock ${at} was refused but the call did not throw`);
        finish(s.main, s.held, `${name}, run through`, others(s));
        break;
      }
      refusals++;
      const where = `${name}, lock ${at} refused`;
      const report = s.main.check();
      assert.ok(report.ok, `${where}: check() after the error: ${JSON.stringify(report.problems.slice(0, 4))}`);
      call(s); // again, with the lock to be had
      finish(s.main, s.held, where, others(s));
    }
    assert.ok(refusals >= 2, `${name}: ${refusals} locks refused`);
    t.diagnostic(`${refusals} locks refused in turn`);
  });
}

// 40 bytes: the ended worker's page of that class is empty and abandoned, so malloc adopts it,
// gives it back, and then makes a page of its own.
everyLock("malloc()", (s) => s.b, (s) => void s.held.alloc(s.b, 40), (s) => [s.b]);
everyLock("collect()", (s) => s.b, (s) => void s.b.collect(), (s) => [s.b]);
everyLock("dispose()", (s) => s.b, (s) => s.b.dispose(), () => []);
everyLock("reclaimThread()", (s) => s.main, (s) => void s.main.reclaimThread(s.b.threadId, { ended: true }), () => []);
