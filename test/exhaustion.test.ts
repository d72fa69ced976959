/**
 * Exhaustion of a fixed 8 MiB ArrayBuffer, for several size mixes (16 B only, 1000 B only, mixed
 * small, 100 KiB, large 300 KiB):
 * - allocate until malloc returns 0 (that 0 leaves stats() unchanged), free everything, and
 *   again, three rounds freeing in different orders: the same count comes back every round
 *   (nothing is lost), every block keeps its pattern, and liveBytes is 0 between rounds;
 * - what comes back after everything is freed: each size class may keep its empty "current"
 *   page and one empty spare page; everything else is free and coalesced — the free pages form at
 *   most one run more than there are kept pages (measured by allocating the largest block that
 *   fits, repeatedly), and for a single class freed in allocation order (its kept pages are its
 *   first ones, at the start of the data) a single block of all the free pages fits;
 * - after reset(), one block of the whole data area fits.
 */

import { describe, test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { createHeap, MID_MAX, PAGE_SIZE, type Heap, type HeapStats } from "../src/index.js";
import { assertPattern, fillPattern } from "./patterns.js";

const MiB = 1 << 20;
const KiB = 1024;
/** Smallest page count that malloc serves as a large block (whole pages). */
const MIN_LARGE_PAGES = Math.floor(MID_MAX / PAGE_SIZE) + 1;

const MIXES: Array<[string, (i: number) => number]> = [
  ["16 B only", () => 16],
  ["1000 B only", () => 1000],
  ["mixed small", (i) => [8, 24, 100, 200, 512, 1000, 48, 640][i % 8]!],
  ["100 KiB only", () => 100 * KiB],
  ["large 300 KiB only", () => 300 * KiB],
];

/** Data pages, less those of page tables and thread slots. */
function dataPages(s: HeapStats): number {
  return (s.mappedBytes - s.metadataBytes - s.tableBytes) / PAGE_SIZE;
}

/** Allocates with `sizeOf(i)` until malloc returns 0; fills each block. Returns the pointers. */
function fillUp(heap: Heap, sizeOf: (i: number) => number, idBase: number): number[] {
  const ptrs: number[] = [];
  for (let i = 0; ; i++) {
    const n = sizeOf(i);
    const before = heap.stats();
    const p = heap.malloc(n);
    if (p === 0) {
      assert.deepEqual(heap.stats(), before, `the failing malloc(${n}) changed the heap`);
      return ptrs;
    }
    fillPattern(heap.u8, p, n, idBase + i);
    ptrs.push(p);
    if (i > 2_000_000) assert.fail("the heap never filled up");
  }
}

/** Cheaper fillUp for the many-small-block mixes: stats() only around the final 0. */
function fillUpFast(heap: Heap, sizeOf: (i: number) => number, idBase: number): number[] {
  const ptrs: number[] = [];
  const u8 = heap.u8;
  for (let i = 0; ; i++) {
    const n = sizeOf(i);
    const p = heap.malloc(n);
    if (p === 0) {
      const before = heap.stats();
      assert.equal(heap.malloc(n), 0, "a full heap stays full");
      assert.deepEqual(heap.stats(), before, `a failing malloc(${n}) changed the heap`);
      return ptrs;
    }
    fillPattern(u8, p, n, idBase + i);
    ptrs.push(p);
  }
}

/**
 * The lengths (in pages) of the free runs of at least MIN_LARGE_PAGES pages, found by allocating
 * the largest block that fits, again and again; the blocks are freed again before returning.
 */
function largeFreeRuns(heap: Heap): number[] {
  const runs: number[] = [];
  const taken: number[] = [];
  const limit = dataPages(heap.stats());
  for (;;) {
    let lo = MIN_LARGE_PAGES - 1; // lo fits (or is the floor), hi does not
    let hi = limit + 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >>> 1;
      const p = heap.malloc(mid * PAGE_SIZE);
      if (p === 0) {
        hi = mid;
      } else {
        heap.free(p);
        lo = mid;
      }
    }
    if (lo < MIN_LARGE_PAGES) break;
    const p = heap.malloc(lo * PAGE_SIZE);
    assert.notEqual(p, 0);
    taken.push(p);
    runs.push(lo);
  }
  for (const p of taken) heap.free(p);
  return runs;
}

describe("exhaustion of a fixed 8 MiB ArrayBuffer", () => {
  for (const [label, sizeOf] of MIXES) {
    test(`${label}: allocate until 0, free all, again: the same count comes back`, () => {
      const heap = createHeap({ buffer: new ArrayBuffer(8 * MiB) });
      const s0 = heap.stats();
      const counts: number[] = [];
      for (let round = 0; round < 3; round++) {
        const ptrs = sizeOf(0) < 4096 ? fillUpFast(heap, sizeOf, round * 1e7) : fillUp(heap, sizeOf, round * 1e7);
        counts.push(ptrs.length);
        const s = heap.stats();
        assert.equal(s.liveBlocks, ptrs.length);
        assert.equal(s.mappedBytes, s0.mappedBytes, "a fixed buffer never grows");
        // The heap really is full: the blocks use most of the data area.
        const usable = ptrs.reduce((sum, p) => sum + heap.usableSize(p), 0);
        assert.equal(s.liveBytes, usable);
        assert.ok(usable >= 0.85 * dataPages(s) * PAGE_SIZE, `only ${usable} of ${dataPages(s) * PAGE_SIZE} bytes in use when full`);
        const u8 = heap.u8;
        for (let i = 0; i < ptrs.length; i++) assertPattern(u8, ptrs[i]!, sizeOf(i), round * 1e7 + i);
        // Free in a different order each round: allocation order, reverse, interleaved.
        if (round === 0) for (const p of ptrs) heap.free(p);
        else if (round === 1) for (let i = ptrs.length - 1; i >= 0; i--) heap.free(ptrs[i]!);
        else {
          for (let i = 0; i < ptrs.length; i += 2) heap.free(ptrs[i]!);
          for (let i = 1; i < ptrs.length; i += 2) heap.free(ptrs[i]!);
        }
        const e = heap.stats();
        assert.equal(e.liveBytes, 0, `round ${round}: liveBytes after freeing everything`);
        assert.equal(e.liveBlocks, 0);
        assert.equal(e.largeBlocks, 0);
      }
      // Nothing was lost: each round fits at least as many blocks as the first. (Not always the
      // same: a worker's spans of a class grow with the pages it owns, so a round that starts with
      // pages kept from the one before shapes its spans differently.)
      assert.ok(counts[1]! >= counts[0]! && counts[2]! >= counts[0]!, `counts per round: ${counts.join(", ")}`);
    });
  }
});

describe("after freeing everything, the free pages come back together", () => {
  for (const [label, sizeOf] of MIXES) {
    test(`${label}: no empty page stays but the current, a spare and those of cached blocks; the rest is free and coalesced; collect() frees all`, (t: TestContext) => {
      const heap = createHeap({ buffer: new ArrayBuffer(8 * MiB) });
      const ptrs = fillUpFast(heap, sizeOf, 0);
      for (const p of ptrs) heap.free(p); // allocation order
      const s = heap.stats();
      const pages = dataPages(s);
      let kept = 0; // spans kept in use with no block
      for (const c of s.classes) {
        assert.equal(c.liveBlocks, 0);
        // The current page, a spare, and the pages of the last blocks freed, which wait in the
        // thread cache (at most its cap of the class).
        assert.ok(c.pages <= 2 + c.cachedBlocks, `class ${c.size} keeps ${c.pages} pages with no block in use (current, spare and ${c.cachedBlocks} cached blocks' at most)`);
        kept += c.pages;
      }
      assert.equal(s.largeBlocks, 0);
      const keptPages = s.heapBytes / PAGE_SIZE;
      const free = pages - keptPages;
      const runs = largeFreeRuns(heap);
      const found = runs.reduce((a, b) => a + b, 0);
      t.diagnostic(
        `${label}: ${pages} data pages; ${kept} empty class page(s) of ${keptPages} pages kept; free runs of >= ${MIN_LARGE_PAGES} pages: [${runs.join(", ")}]`,
      );
      // Free spans never touch (they coalesce), so the kept pages split the free pages into at
      // most kept + 1 runs; the runs too short to probe hold fewer than MIN_LARGE_PAGES each.
      assert.ok(runs.length <= kept + 1, `${runs.length} free runs around ${kept} kept pages`);
      assert.ok(
        found + (MIN_LARGE_PAGES - 1) * (kept + 1 - runs.length) >= free,
        `free pages ${free}, found in long runs ${found}: some free pages did not coalesce`,
      );
      if (s.classes.length === 1) {
        // One class, freed in allocation order: the pages it keeps are the first ones it emptied,
        // at the start of the data, and the page of the cached blocks, the last: the free pages
        // form at most two runs.
        assert.ok(runs.length <= 2, `at most two runs of free pages: [${runs.join(", ")}]`);
      }
      if (kept === 0) assert.equal(free, pages, "large blocks only: every page is free again");

      // collect() returns the cache to the pages and every empty page to the heap: one run, and
      // one block takes it all.
      heap.collect();
      assert.equal(heap.stats().heapBytes, 0, "after collect() no page is in use");
      assert.deepEqual(largeFreeRuns(heap), [pages], `one run of all ${pages} pages after collect()`);
      const whole = heap.malloc(pages * PAGE_SIZE);
      assert.notEqual(whole, 0, `a block of all ${pages} pages`);
      heap.free(whole);

      // reset() gives back the kept pages too: one block of the whole data area.
      heap.reset();
      const all = heap.malloc(pages * PAGE_SIZE);
      assert.notEqual(all, 0, "after reset() one block spans the whole data area");
      heap.free(all);
      // And the heap fills up to the same count again.
      assert.equal(fillUpFast(heap, sizeOf, 5e6).length, ptrs.length);
    });
  }
});
