/**
 * Property-based test (fast-check): random sequences of malloc / calloc / realloc / alignedAlloc
 * / free over sizes from every range (small 0..1024, mid 1 KiB..256 KiB, large up to 2 MiB, and
 * the class boundaries), run against a model of the live blocks, on a heap limited to 8 MiB so
 * that exhaustion (0 returns) happens too. Checked after every step:
 * - each live block holds the pattern of its id over its whole usable size (verified before it is
 *   freed or moved, and at the end); realloc keeps min(old usable size, new size) bytes; calloc
 *   hands out zeros;
 * - blocks are aligned as promised (8, 16 from 16 bytes up, the requested alignment);
 * - no two live blocks overlap ([p, p + usableSize) intervals) and all lie in the mapped data;
 * - stats().liveBlocks and stats().liveBytes (sum of usableSize) agree with the model, and the
 *   per-class and large counts add up to them;
 * - a 0 return (or a failed realloc) leaves the model, the old block and stats() unchanged;
 * - blocks in the thread cache count as free (stats().cachedBlocks is the sum of the classes'),
 *   and every 25 steps check() is clean (it verifies every cached block) and counts the model's
 *   live blocks;
 * - a second free of a freed pointer that no live block covers is a RangeError naming it, and
 *   leaves stats() and check() as they were.
 * A second property runs bursts of same-size mallocs and strided frees on a 4 MiB heap, so that
 * pages of small classes fill up, leave and rejoin their queues, and are released when empty.
 * Set HAKMEM_FC_SEED to replay a run with a given seed.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { createHeap, MID_MAX, SIZE_CLASSES, type Heap, type HeapStats } from "../src/index.js";
import { blocksOf } from "./heap_state.js";
import { assertPattern, fillPattern, findNonZero } from "./patterns.js";

const MiB = 1 << 20;
const HEAP_BYTES = 8 * MiB;

type Op =
  | { kind: "malloc"; size: number }
  | { kind: "calloc"; count: number; size: number }
  | { kind: "realloc"; which: number; size: number }
  | { kind: "aligned"; alignLog: number; size: number }
  | { kind: "free"; which: number }
  /** Frees again one of the pointers freed last (a double free, unless a live block covers it now). */
  | { kind: "freeAgain"; which: number }
  /** `count` mallocs of `size` in a row (fills pages, so that pages become full). */
  | { kind: "burst"; size: number; count: number }
  /** Frees up to `count` blocks: every `stride`-th live block from `which` on. */
  | { kind: "freeSome"; which: number; stride: number; count: number };

const sizeArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 1024 }) },
  { weight: 3, arbitrary: fc.integer({ min: 1025, max: MID_MAX }) },
  { weight: 1, arbitrary: fc.integer({ min: MID_MAX + 1, max: 2 * MiB }) },
  { weight: 1, arbitrary: fc.constantFrom(...SIZE_CLASSES, ...SIZE_CLASSES.map((c) => c + 1), MID_MAX + 1) },
);

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 5, arbitrary: sizeArb.map((size): Op => ({ kind: "malloc", size })) },
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 0, max: 600 }), fc.integer({ min: 0, max: 4096 }))
      .map(([count, size]): Op => ({ kind: "calloc", count, size })),
  },
  { weight: 2, arbitrary: fc.tuple(fc.nat(), sizeArb).map(([which, size]): Op => ({ kind: "realloc", which, size })) },
  {
    weight: 1,
    arbitrary: fc.tuple(fc.integer({ min: 0, max: 20 }), sizeArb).map(([alignLog, size]): Op => ({ kind: "aligned", alignLog, size })),
  },
  { weight: 4, arbitrary: fc.nat().map((which): Op => ({ kind: "free", which })) },
  { weight: 1, arbitrary: fc.nat().map((which): Op => ({ kind: "freeAgain", which })) },
);

interface Block {
  p: number;
  id: number;
  /** usableSize(p) when it was allocated; the pattern covers all of it. */
  usable: number;
}

/** What the runs exercised, to check that exhaustion and every op really happened. */
const seen = { zeros: 0, reallocMoves: 0, reallocInPlace: 0, frees: 0, callocs: 0, aligned: 0, large: 0, doubleFrees: 0 };

class Model {
  readonly heap: Heap;
  readonly blocks = new Map<number, Block>();
  /** Live pointers in allocation order, for picking "which" block an op works on. */
  readonly order: number[] = [];
  /** The pointers freed last (at most 64), for double frees. */
  readonly freed: number[] = [];
  private nextId = 0;

  constructor(maxBytes = HEAP_BYTES) {
    this.heap = createHeap({ maxBytes });
  }

  pick(which: number): Block | undefined {
    if (this.order.length === 0) return undefined;
    return this.blocks.get(this.order[which % this.order.length]!);
  }

  private remove(p: number): void {
    this.blocks.delete(p);
    const i = this.order.indexOf(p);
    this.order.splice(i, 1);
  }

  private add(p: number, requested: number, align: number, what: string, id = ++this.nextId): Block {
    const heap = this.heap;
    assert.ok(!this.blocks.has(p), `${what} returned ${p}, a block that is already live`);
    assert.equal(p % 8, 0, `${what} = ${p}: not 8-byte aligned`);
    if (requested >= 16) assert.equal(p % 16, 0, `${what} = ${p}: not 16-byte aligned`);
    assert.equal(p % align, 0, `${what} = ${p}: not ${align}-byte aligned`);
    const usable = heap.usableSize(p);
    assert.ok(usable >= requested, `${what}: usableSize ${usable} < ${requested}`);
    if (requested > MID_MAX) seen.large++;
    const b = { p, id, usable };
    this.blocks.set(p, b);
    this.order.push(p);
    return b;
  }

  private verify(b: Block, n = b.usable, what = "block"): void {
    assertPattern(this.heap.u8, b.p, n, b.id, what);
  }

  apply(op: Op): void {
    const heap = this.heap;
    const before = heap.stats();
    const unchanged = (what: string): void => {
      seen.zeros++;
      // A failed malloc changes no block; it may have given back the worker's cached blocks and
      // empty pages first (before the buffer would grow), and retired a full current page.
      assert.deepEqual(blocksOf(heap.stats()), blocksOf(before), `${what} returned 0 but changed the blocks`);
    };
    switch (op.kind) {
      case "malloc": {
        const what = `malloc(${op.size})`;
        const p = heap.malloc(op.size);
        if (p === 0) return unchanged(what);
        const b = this.add(p, op.size, 8, what);
        fillPattern(heap.u8, p, b.usable, b.id);
        return;
      }
      case "calloc": {
        seen.callocs++;
        const what = `calloc(${op.count}, ${op.size})`;
        const bytes = op.count * op.size;
        const p = heap.calloc(op.count, op.size);
        if (p === 0) return unchanged(what);
        const b = this.add(p, bytes, 8, what);
        const k = findNonZero(heap.u8, p, bytes);
        assert.equal(k, -1, `${what} = ${p}: byte ${k} is not zero`);
        fillPattern(heap.u8, p, b.usable, b.id);
        return;
      }
      case "aligned": {
        seen.aligned++;
        const alignment = 2 ** op.alignLog;
        const what = `alignedAlloc(${alignment}, ${op.size})`;
        const p = heap.alignedAlloc(alignment, op.size);
        if (p === 0) return unchanged(what);
        const b = this.add(p, op.size, alignment, what);
        fillPattern(heap.u8, p, b.usable, b.id);
        return;
      }
      case "free": {
        const b = this.pick(op.which);
        if (b === undefined) {
          heap.free(0);
          assert.deepEqual(heap.stats(), before, "free(0) changed the heap");
          return;
        }
        seen.frees++;
        this.verify(b, b.usable, `block before free(${b.p})`);
        heap.free(b.p);
        this.remove(b.p);
        this.freed.push(b.p);
        if (this.freed.length > 64) this.freed.shift();
        return;
      }
      case "freeAgain": {
        if (this.freed.length === 0) return;
        const p = this.freed[op.which % this.freed.length]!;
        // A live block may cover it again (reused): then it is no double free.
        for (const b of this.blocks.values()) if (p >= b.p && p < b.p + b.usable) return;
        seen.doubleFrees++;
        assert.throws(() => heap.free(p), (e: Error) => e instanceof RangeError && e.message.includes(`0x${p.toString(16)}`), `a second free(${p})`);
        assert.deepEqual(heap.stats(), before, `a second free(${p}) changed the heap`);
        const rep = heap.check();
        assert.deepEqual(rep.problems, [], `check() after a second free(${p})`);
        return;
      }
      case "burst": {
        for (let i = 0; i < op.count; i++) this.apply({ kind: "malloc", size: op.size });
        return;
      }
      case "freeSome": {
        if (this.order.length === 0) return;
        const victims: number[] = [];
        for (let i = op.which % this.order.length, k = 0; i < this.order.length && k < op.count; i += op.stride, k++) {
          victims.push(this.order[i]!);
        }
        for (const p of victims) this.apply({ kind: "free", which: this.order.indexOf(p) });
        return;
      }
      case "realloc": {
        const b = this.pick(op.which);
        if (b === undefined) {
          const what = `realloc(0, ${op.size})`;
          const p = heap.realloc(0, op.size);
          if (p === 0) return unchanged(what);
          const nb = this.add(p, op.size, 8, what);
          fillPattern(heap.u8, p, nb.usable, nb.id);
          return;
        }
        const what = `realloc(${b.p}, ${op.size}) of a block of ${b.usable}`;
        this.verify(b, b.usable, `block before ${what}`);
        const q = heap.realloc(b.p, op.size);
        if (op.size === 0) {
          assert.equal(q, 0, `${what} returns 0`);
          this.remove(b.p);
          return;
        }
        if (q === 0) {
          unchanged(what);
          this.verify(b, b.usable, `block after a failed ${what}`);
          return;
        }
        if (q === b.p) seen.reallocInPlace++;
        else seen.reallocMoves++;
        this.remove(b.p);
        const nb = this.add(q, op.size, 8, what, b.id);
        this.verify(nb, Math.min(b.usable, op.size), `contents after ${what} = ${q}`);
        fillPattern(heap.u8, q, nb.usable, nb.id);
        return;
      }
    }
  }

  /** The invariants that hold after every step. */
  check(step: number): void {
    const heap = this.heap;
    const s: HeapStats = heap.stats();
    assert.equal(s.cachedBlocks, s.classes.reduce((sum, c) => sum + c.cachedBlocks, 0), `step ${step}: cached blocks by class`);
    if (step % 25 === 0) {
      const rep = heap.check();
      assert.deepEqual(rep.problems, [], `step ${step}: check()`);
      assert.equal(rep.liveBlocks, this.blocks.size, `step ${step}: check().liveBlocks`);
    }
    let liveBytes = 0;
    for (const b of this.blocks.values()) liveBytes += b.usable;
    assert.equal(s.liveBlocks, this.blocks.size, `step ${step}: stats().liveBlocks`);
    assert.equal(s.liveBytes, liveBytes, `step ${step}: stats().liveBytes`);
    const classBlocks = s.classes.reduce((sum, c) => sum + c.liveBlocks, 0);
    const classBytes = s.classes.reduce((sum, c) => sum + c.liveBlocks * c.size, 0);
    assert.equal(classBlocks + s.largeBlocks, s.liveBlocks, `step ${step}: class blocks + large blocks`);
    assert.equal(classBytes + s.largeBytes, s.liveBytes, `step ${step}: class bytes + large bytes`);
    assert.ok(s.heapBytes <= s.mappedBytes - s.metadataBytes);
    assert.ok(s.mappedBytes <= HEAP_BYTES);
    // No overlap, everything inside the mapped data (base 0).
    const sorted = [...this.blocks.values()].sort((a, b) => a.p - b.p);
    let end = s.metadataBytes;
    for (const b of sorted) {
      assert.ok(b.p >= end, `step ${step}: block [${b.p}, ${b.p + b.usable}) overlaps the one before (ending at ${end})`);
      end = b.p + b.usable;
    }
    assert.ok(end <= s.mappedBytes, `step ${step}: a block ends at ${end}, past the mapped data ${s.mappedBytes}`);
  }

  finish(): void {
    const heap = this.heap;
    for (const b of this.blocks.values()) {
      assert.equal(heap.usableSize(b.p), b.usable);
      this.verify(b, b.usable, "block at the end");
    }
    for (const p of [...this.order]) {
      heap.free(p);
      this.remove(p);
    }
    const s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.equal(s.liveBytes, 0);
    assert.equal(s.largeBlocks, 0);
  }
}

function run(ops: Op[], maxBytes = HEAP_BYTES): void {
  const m = new Model(maxBytes);
  m.check(-1);
  ops.forEach((op, step) => {
    m.apply(op);
    m.check(step);
  });
  m.finish();
}

test("random malloc / calloc / realloc / alignedAlloc / free agree with the model", (t) => {
  const seed = process.env.HAKMEM_FC_SEED === undefined ? undefined : Number(process.env.HAKMEM_FC_SEED);
  fc.assert(
    fc.property(fc.array(opArb, { minLength: 1, maxLength: 400, size: "max" }), (ops) => {
      run(ops);
    }),
    // The time limit bounds the shrinking of a failure (long sequences shrink slowly); a
    // passing run takes a few seconds.
    { numRuns: 200, plugins: [fc.interruptAfterTimeLimit(30_000)], ...(seed === undefined ? {} : { seed }) },
  );
  t.diagnostic(`exercised: ${JSON.stringify(seen)}`);
  // The runs did exercise what they are meant to.
  assert.ok(seen.zeros > 0, "no allocation ever returned 0: exhaustion was not exercised");
  assert.ok(seen.reallocMoves > 0 && seen.reallocInPlace > 0, `realloc moves ${seen.reallocMoves}, in place ${seen.reallocInPlace}`);
  assert.ok(seen.frees > 0 && seen.callocs > 0 && seen.aligned > 0 && seen.large > 0 && seen.doubleFrees > 0);
});

/**
 * Bursts of small and mid blocks of classes with few blocks per page, and frees of every k-th
 * block: pages fill up, leave their queue, come back when blocks are freed, and are released when
 * empty — on a 4 MiB heap, so that the bursts also run into exhaustion.
 */
const burstSizeArb = fc.constantFrom(8, 16, 100, 1000, 1024, 2000, 2048, 4000, 5000, 12_000, 30_000, 65_536, 100_000, MID_MAX);
const burstOpArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(burstSizeArb, fc.integer({ min: 1, max: 300 }))
      .map(([size, count]): Op => ({ kind: "burst", size, count })),
  },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.nat(), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 300 }))
      .map(([which, stride, count]): Op => ({ kind: "freeSome", which, stride, count })),
  },
  { weight: 1, arbitrary: opArb },
);

test("bursts of same-size blocks and strided frees agree with the model (full pages, page reuse)", () => {
  const seed = process.env.HAKMEM_FC_SEED === undefined ? undefined : Number(process.env.HAKMEM_FC_SEED);
  fc.assert(
    fc.property(fc.array(burstOpArb, { minLength: 1, maxLength: 40, size: "max" }), (ops) => {
      run(ops, 4 * MiB);
    }),
    { numRuns: 100, plugins: [fc.interruptAfterTimeLimit(20_000)], ...(seed === undefined ? {} : { seed }) },
  );
});

test("a few fixed sequences (regressions and edge cases) agree with the model", () => {
  const sequences: Op[][] = [
    // Fill the 8 MiB heap with large blocks, fail, free, refill.
    [
      { kind: "malloc", size: 2 * MiB }, { kind: "malloc", size: 2 * MiB }, { kind: "malloc", size: 2 * MiB },
      { kind: "malloc", size: 2 * MiB }, { kind: "malloc", size: 2 * MiB }, { kind: "free", which: 1 },
      { kind: "malloc", size: 2 * MiB }, { kind: "realloc", which: 0, size: 1 }, { kind: "realloc", which: 0, size: 3 * MiB },
    ],
    // Grow a block through every range in place and by moving, then shrink it back.
    [
      { kind: "malloc", size: 1 }, { kind: "realloc", which: 0, size: 100 }, { kind: "realloc", which: 0, size: 5000 },
      { kind: "realloc", which: 0, size: MID_MAX }, { kind: "realloc", which: 0, size: MID_MAX + 1 },
      { kind: "realloc", which: 0, size: 2 * MiB }, { kind: "realloc", which: 0, size: 700_000 },
      { kind: "realloc", which: 0, size: 3000 }, { kind: "realloc", which: 0, size: 0 },
    ],
    // Many small blocks past a page, freed from the middle, with calloc reusing the holes.
    [
      ...Array.from({ length: 70 }, (): Op => ({ kind: "malloc", size: 1000 })),
      ...Array.from({ length: 30 }, (_, i): Op => ({ kind: "free", which: i * 2 })),
      ...Array.from({ length: 30 }, (): Op => ({ kind: "calloc", count: 10, size: 100 })),
      { kind: "aligned", alignLog: 20, size: 1 }, { kind: "aligned", alignLog: 16, size: MID_MAX },
    ],
  ];
  for (const ops of sequences) run(ops);
});
