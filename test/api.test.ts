/**
 * The public API on valid input, one function at a time: malloc (incl. malloc(0), alignment,
 * size classes), free(0), calloc (zeroing over dirty memory, overflow, zero counts), realloc
 * (malloc/free cases, contents kept, in place within a class, large blocks shrinking and growing
 * in place, 0 on exhaustion), alignedAlloc (every power of two 1..2^20, bad alignments),
 * usableSize, view, stats (every field), reset, dispose, and the exported constants.
 * Bad sizes and bad pointers are in errors.test.ts; the kinds of buffers in backing.test.ts.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHeap, MID_MAX, PAGE_SIZE, SIZE_CLASSES, SMALL_MAX, type HeapStats, type TypedArrayConstructor } from "../src/index.js";
import { assertPattern, fillPattern, findNonZero } from "./patterns.js";

const MiB = 1 << 20;
const KiB = 1024;

/** Bytes a large block of `n` bytes occupies: whole pages. */
function pagesBytes(n: number): number {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** The usable size hakmem promises for a request of `n` bytes: its size class, or whole pages. */
function expectedUsable(n: number): number {
  if (n > MID_MAX) return pagesBytes(n);
  for (const c of SIZE_CLASSES) if (c >= n) return c;
  throw new Error("unreachable");
}

/** Data bytes currently backed by the buffer (the region after the metadata). */
function dataBytes(s: HeapStats): number {
  return s.mappedBytes - s.metadataBytes;
}

/** Sizes from every class: each class size, one past the previous class, and large sizes. */
function sizesAcrossClasses(): number[] {
  const sizes = new Set<number>([0, 1, 7]);
  let prev = 0;
  for (const c of SIZE_CLASSES) {
    sizes.add(prev + 1);
    sizes.add(c - 1);
    sizes.add(c);
    prev = c;
  }
  for (const n of [MID_MAX + 1, 300_000, MiB - 1, MiB, MiB + 1, 5 * MiB + 3]) sizes.add(n);
  return [...sizes].filter((n) => n >= 0).sort((a, b) => a - b);
}

describe("exported constants", () => {
  test("size classes ascend, are multiples of 16 (but the first, 8), and end at MID_MAX", () => {
    assert.equal(PAGE_SIZE, 8192);
    assert.equal(SMALL_MAX, 1024);
    assert.equal(SIZE_CLASSES[0], 8);
    assert.equal(SIZE_CLASSES[SIZE_CLASSES.length - 1], MID_MAX);
    for (let i = 1; i < SIZE_CLASSES.length; i++) {
      assert.ok(SIZE_CLASSES[i]! > SIZE_CLASSES[i - 1]!, `class ${i} ascends`);
      assert.equal(SIZE_CLASSES[i]! % 16, 0, `class ${i} (${SIZE_CLASSES[i]}) is a multiple of 16`);
    }
  });
});

describe("malloc", () => {
  test("malloc(0) returns unique, non-null, freeable blocks", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const ptrs = new Set<number>();
    for (let i = 0; i < 100; i++) {
      const p = heap.malloc(0);
      assert.notEqual(p, 0);
      assert.equal(p % 8, 0);
      assert.ok(heap.usableSize(p) > 0, "a zero-size block still owns at least one byte");
      assert.ok(!ptrs.has(p), `malloc(0) returned ${p} twice`);
      ptrs.add(p);
    }
    assert.equal(heap.stats().liveBlocks, 100);
    for (const p of ptrs) heap.free(p);
    assert.equal(heap.stats().liveBlocks, 0);
    assert.equal(heap.stats().liveBytes, 0);
  });

  test("every block is 8-byte aligned, and 16-byte aligned from 16 bytes up", () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const sizes: number[] = [];
    for (let n = 0; n <= 1100; n++) sizes.push(n);
    sizes.push(...sizesAcrossClasses());
    const live: Array<[number, number]> = [];
    for (const n of sizes) {
      const p = heap.malloc(n);
      assert.notEqual(p, 0, `malloc(${n})`);
      assert.equal(p % 8, 0, `malloc(${n}) = ${p} is 8-byte aligned`);
      if (n >= 16) assert.equal(p % 16, 0, `malloc(${n}) = ${p} is 16-byte aligned`);
      live.push([p, n]);
    }
    for (const [p] of live) heap.free(p);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("usableSize(malloc(n)) is at least n: the smallest class that holds n, or whole pages", () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const live: number[] = [];
    for (const n of sizesAcrossClasses()) {
      const p = heap.malloc(n);
      const usable = heap.usableSize(p);
      assert.ok(usable >= n, `usableSize(malloc(${n})) = ${usable}`);
      assert.equal(usable, expectedUsable(n), `usableSize(malloc(${n}))`);
      live.push(p);
    }
    assert.equal(heap.usableSize(0), 0);
    for (const p of live) heap.free(p);
  });

  test("live blocks never share bytes, and writing one leaves the others intact", () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const blocks: Array<{ p: number; n: number; id: number }> = [];
    let id = 0;
    for (const n of sizesAcrossClasses()) {
      for (let k = 0; k < 3; k++) {
        const p = heap.malloc(n);
        blocks.push({ p, n: heap.usableSize(p), id });
        fillPattern(heap.u8, p, heap.usableSize(p), id++);
      }
    }
    const sorted = [...blocks].sort((a, b) => a.p - b.p);
    for (let i = 1; i < sorted.length; i++) {
      const a = sorted[i - 1]!;
      const b = sorted[i]!;
      assert.ok(a.p + a.n <= b.p, `[${a.p}, ${a.p + a.n}) overlaps [${b.p}, ${b.p + b.n})`);
    }
    const u8 = heap.u8;
    for (const b of blocks) assertPattern(u8, b.p, b.n, b.id);
    for (const b of blocks) heap.free(b.p);
    assert.equal(heap.stats().liveBytes, 0);
  });

  test("a freed small block is reused before new memory is touched", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(100);
    heap.free(p);
    assert.equal(heap.malloc(100), p);
  });
});

describe("free", () => {
  test("free(0) does nothing", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(100);
    fillPattern(heap.u8, p, 100, 1);
    const before = heap.stats();
    heap.free(0);
    heap.free(0);
    assert.deepEqual(heap.stats(), before);
    assertPattern(heap.u8, p, 100, 1);
  });

  test("freeing every block, in any order, brings liveBytes and liveBlocks back to 0", () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const ptrs: number[] = [];
    for (let i = 0; i < 3000; i++) ptrs.push(heap.malloc((i * 37) % 2000));
    for (let i = 0; i < 20; i++) ptrs.push(heap.malloc(MID_MAX + i * 50_000));
    // Free in an interleaved order: odd indexes first, then even ones backwards.
    for (let i = 1; i < ptrs.length; i += 2) heap.free(ptrs[i]!);
    for (let i = ptrs.length - 2 + (ptrs.length % 2); i >= 0; i -= 2) heap.free(ptrs[i]!);
    const s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.equal(s.liveBytes, 0);
    assert.equal(s.largeBlocks, 0);
    assert.equal(s.largeBytes, 0);
  });
});

describe("calloc", () => {
  test("calloc zeroes memory that was dirty (blocks filled and freed before)", () => {
    const heap = createHeap({ maxBytes: 128 * MiB });
    const cases: Array<[number, number]> = [
      [1, 8], [3, 5], [10, 10], [100, 10], [1, 1000], [7, 1000], [64, 80], [1, 5000],
      [25, 4000], [1, 100_000], [1000, 200], [1, MID_MAX], [3, 100_000], [1, 2 * MiB], [1024, 1024],
    ];
    for (const [count, size] of cases) {
      const bytes = count * size;
      // Dirty: fill a batch of blocks of this size with non-zero bytes, then free them all.
      const dirty: number[] = [];
      for (let i = 0; i < 8; i++) {
        const p = heap.malloc(bytes);
        heap.u8.fill(0xa5, p, p + heap.usableSize(p));
        dirty.push(p);
      }
      for (const p of dirty) heap.free(p);
      const got: number[] = [];
      for (let i = 0; i < 8; i++) {
        const p = heap.calloc(count, size);
        assert.notEqual(p, 0, `calloc(${count}, ${size})`);
        assert.ok(heap.usableSize(p) >= bytes);
        const k = findNonZero(heap.u8, p, bytes);
        assert.equal(k, -1, `calloc(${count}, ${size}) = ${p}: byte ${k} is ${heap.u8[p + k]}, not 0`);
        got.push(p);
      }
      // The test means something only if calloc handed out dirtied memory.
      assert.ok(
        got.some((p) => dirty.includes(p)),
        `calloc(${count}, ${size}) reused none of the dirtied blocks; the zeroing was not exercised`,
      );
      for (const p of got) heap.free(p);
    }
  });

  test("calloc(0, n) and calloc(n, 0) return unique freeable blocks", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const a = heap.calloc(0, 100);
    const b = heap.calloc(100, 0);
    const c = heap.calloc(0, 0);
    for (const p of [a, b, c]) {
      assert.notEqual(p, 0);
      assert.equal(p % 8, 0);
    }
    assert.equal(new Set([a, b, c]).size, 3);
    assert.equal(heap.stats().liveBlocks, 3);
    heap.free(a);
    heap.free(b);
    heap.free(c);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("calloc overflow (count × size > 2^32 − 1) throws a RangeError naming both values", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const keep = heap.malloc(64);
    fillPattern(heap.u8, keep, 64, 9);
    const before = heap.stats();
    const cases: Array<[number, number]> = [
      [65536, 65536], [65537, 65536], [2 ** 32, 1], [1, 2 ** 32], [3, 2 ** 31], [2 ** 26, 2 ** 26 + 3],
    ];
    for (const [count, size] of cases) {
      assert.throws(
        () => heap.calloc(count, size),
        (e: unknown) => {
          assert.ok(e instanceof RangeError, `calloc(${count}, ${size}) threw ${String(e)}`);
          assert.ok(e.message.includes(String(count)), `message names count ${count}: ${e.message}`);
          assert.ok(e.message.includes(String(size)), `message names size ${size}: ${e.message}`);
          return true;
        },
      );
    }
    assert.deepEqual(heap.stats(), before);
    assertPattern(heap.u8, keep, 64, 9);
  });

  test("calloc of exactly 2^32 − 1 bytes does not overflow: it returns 0 (too large) and changes nothing", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const before = heap.stats();
    assert.equal(heap.calloc(65535, 65537), 0);
    assert.equal(heap.calloc(1, 2 ** 32 - 1), 0);
    assert.deepEqual(heap.stats(), before);
  });
});

describe("realloc", () => {
  test("realloc(0, n) is malloc(n)", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    for (const n of [0, 1, 100, 5000, 300_000]) {
      const p = heap.realloc(0, n);
      assert.notEqual(p, 0);
      assert.equal(heap.usableSize(p), expectedUsable(n));
      assert.equal(heap.stats().liveBlocks, 1);
      heap.free(p);
    }
  });

  test("realloc(p, 0) frees p and returns 0", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    for (const n of [0, 8, 100, 5000, 300_000]) {
      const p = heap.malloc(n);
      assert.equal(heap.stats().liveBlocks, 1);
      assert.equal(heap.realloc(p, 0), 0);
      const s = heap.stats();
      assert.equal(s.liveBlocks, 0, `realloc(malloc(${n}), 0) freed the block`);
      assert.equal(s.liveBytes, 0);
    }
    // A freed large block is gone: its pointer no longer names a block.
    const big = heap.malloc(300_000);
    heap.realloc(big, 0);
    assert.throws(() => heap.usableSize(big), RangeError);
  });

  test("realloc keeps the contents when growing and shrinking, across classes and large sizes", () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const sizes = [1, 8, 16, 100, 1000, 1025, 5000, 65536, 100_000, MID_MAX, MID_MAX + 1, 700_000, 3 * MiB];
    let id = 0;
    // A neighbour block allocated before each test block must stay intact throughout.
    const guard = heap.malloc(5000);
    fillPattern(heap.u8, guard, 5000, 999_999);
    for (const from of sizes) {
      for (const to of sizes) {
        const p = heap.malloc(from);
        const usable = heap.usableSize(p);
        fillPattern(heap.u8, p, usable, ++id);
        const q = heap.realloc(p, to);
        assert.notEqual(q, 0, `realloc(malloc(${from}), ${to})`);
        assert.equal(q % 8, 0);
        if (to >= 16) assert.equal(q % 16, 0, `realloc(malloc(${from}), ${to}) = ${q} is 16-byte aligned`);
        assert.ok(heap.usableSize(q) >= to);
        // Every byte that was usable and still fits is kept (not only the `from` requested bytes).
        assertPattern(heap.u8, q, Math.min(usable, to), id, `realloc(malloc(${from}), ${to})`);
        heap.free(q);
      }
    }
    assertPattern(heap.u8, guard, 5000, 999_999, "guard");
    heap.free(guard);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("realloc stays in place while the size class still fits", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    for (const n of [8, 16, 100, 1000, 5000, 100_000, MID_MAX]) {
      const p = heap.malloc(n);
      const usable = heap.usableSize(p);
      fillPattern(heap.u8, p, usable, n);
      assert.equal(heap.realloc(p, usable), p, `realloc(malloc(${n}), ${usable}) grows within the class`);
      assert.equal(heap.realloc(p, n), p, `realloc back to ${n}`);
      if (n > 8) assert.equal(heap.realloc(p, n - 1), p, `realloc(p, ${n - 1}) shrinks a little, in place`);
      assert.equal(heap.usableSize(p), usable);
      assertPattern(heap.u8, p, n - 1, n);
      heap.free(p);
    }
  });

  test("a large block shrinks in place, giving its tail pages back", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(2 * MiB);
    fillPattern(heap.u8, p, 2 * MiB, 1);
    const before = heap.stats();
    const q = heap.realloc(p, 600 * KiB);
    assert.equal(q, p, "shrinking a large block stays in place");
    assert.equal(heap.usableSize(p), pagesBytes(600 * KiB));
    assertPattern(heap.u8, p, 600 * KiB, 1);
    const after = heap.stats();
    assert.equal(after.largeBlocks, 1);
    assert.equal(after.largeBytes, pagesBytes(600 * KiB));
    assert.equal(after.heapBytes, before.heapBytes - (2 * MiB - pagesBytes(600 * KiB)));
    assert.equal(after.liveBytes, before.liveBytes - (2 * MiB - pagesBytes(600 * KiB)));
    // The same page count is a no-op.
    assert.equal(heap.realloc(p, pagesBytes(600 * KiB) - 1), p);
    heap.free(p);
    assert.equal(heap.stats().heapBytes, 0);
  });

  test("a large block grows in place when the pages after it are free, and moves when they are not", () => {
    const heap = createHeap({ maxBytes: 64 * MiB, initialBytes: 8 * MiB }); // one arena for all
    const a = heap.malloc(300 * KiB);
    const b = heap.malloc(300 * KiB);
    // Precondition: on a fresh heap the second large block follows the first.
    assert.equal(b, a + heap.usableSize(a), "the second block lies right after the first");
    fillPattern(heap.u8, a, heap.usableSize(a), 1);
    fillPattern(heap.u8, b, heap.usableSize(b), 2);

    // b is in the way: a must move, and keep its contents; b stays intact.
    const a2 = heap.realloc(a, 900 * KiB);
    assert.notEqual(a2, 0);
    assert.notEqual(a2, a, "cannot grow in place over a live block");
    assertPattern(heap.u8, a2, pagesBytes(300 * KiB), 1);
    assertPattern(heap.u8, b, heap.usableSize(b), 2);

    // b now has free pages after it (a2 lies elsewhere, the rest of the heap is free): in place.
    const c = heap.malloc(100);
    fillPattern(heap.u8, c, 100, 3);
    heap.free(a2);
    const b2 = heap.realloc(b, 900 * KiB);
    assert.equal(b2, b, "grows in place over the free pages that follow");
    assert.equal(heap.usableSize(b), pagesBytes(900 * KiB));
    assertPattern(heap.u8, b, pagesBytes(300 * KiB), 2);
    assertPattern(heap.u8, c, 100, 3);
    heap.free(b);
    heap.free(c);
    const s = heap.stats();
    assert.equal(s.largeBlocks, 0);
    assert.equal(s.liveBlocks, 0);
  });

  test("realloc returns 0 and leaves the old block intact when the heap is exhausted", () => {
    const heap = createHeap({ buffer: new ArrayBuffer(4 * MiB) });
    const small = heap.malloc(1000);
    const mid = heap.malloc(100_000);
    const large = heap.malloc(400 * KiB);
    fillPattern(heap.u8, small, 1000, 1);
    fillPattern(heap.u8, mid, 100_000, 2);
    fillPattern(heap.u8, large, 400 * KiB, 3);
    // Fill the rest of the heap.
    const filler: number[] = [];
    for (const n of [MID_MAX + 1, 65536, 1024]) {
      for (let p = heap.malloc(n); p !== 0; p = heap.malloc(n)) filler.push(p);
    }
    const before = heap.stats();
    for (const [p, n, id] of [[small, 1000, 1], [mid, 100_000, 2], [large, 400 * KiB, 3]] as const) {
      for (const to of [5000, MID_MAX, 2 * MiB, 3 * MiB]) {
        if (to <= heap.usableSize(p)) continue;
        assert.equal(heap.realloc(p, to), 0, `realloc(${p}, ${to}) on a full heap`);
        assertPattern(heap.u8, p, n, id, `block after realloc(${p}, ${to}) failed`);
        assert.equal(heap.usableSize(p), expectedUsable(n));
      }
    }
    assert.deepEqual(heap.stats(), before, "failed reallocs change nothing");
    for (const p of filler) heap.free(p);
    // With room again, the same realloc succeeds and keeps the contents.
    const moved = heap.realloc(small, 5000);
    assert.notEqual(moved, 0);
    assertPattern(heap.u8, moved, 1000, 1);
  });
});

describe("alignedAlloc", () => {
  test("every power of two from 1 to 2^20, with several sizes: aligned, big enough, intact, freeable", () => {
    const heap = createHeap({ maxBytes: 512 * MiB });
    const sizes = [0, 1, 7, 8, 16, 24, 100, 1000, 4096, 5000, 70_000, MID_MAX, 300_000, MiB + 1];
    const blocks: Array<{ p: number; n: number; id: number; alignment: number }> = [];
    let id = 0;
    for (let k = 0; k <= 20; k++) {
      const alignment = 2 ** k;
      for (const n of sizes) {
        const p = heap.alignedAlloc(alignment, n);
        assert.notEqual(p, 0, `alignedAlloc(${alignment}, ${n})`);
        assert.equal(p % alignment, 0, `alignedAlloc(${alignment}, ${n}) = ${p}`);
        assert.equal(p % 8, 0, `alignedAlloc(${alignment}, ${n}) = ${p} is at least 8-byte aligned`);
        assert.ok(heap.usableSize(p) >= n, `usableSize(alignedAlloc(${alignment}, ${n})) = ${heap.usableSize(p)}`);
        fillPattern(heap.u8, p, n, ++id);
        blocks.push({ p, n, id, alignment });
      }
    }
    const s = heap.stats();
    assert.equal(s.liveBlocks, blocks.length);
    assert.equal(s.liveBytes, blocks.reduce((sum, b) => sum + heap.usableSize(b.p), 0));
    const u8 = heap.u8;
    for (const b of blocks) assertPattern(u8, b.p, b.n, b.id, `alignedAlloc(${b.alignment}, ${b.n})`);
    for (const b of blocks) heap.free(b.p);
    const end = heap.stats();
    assert.equal(end.liveBlocks, 0);
    assert.equal(end.liveBytes, 0);
    assert.equal(end.largeBlocks, 0);
  });

  test("bad alignments throw TypeError / RangeError naming the value", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const before = heap.stats();
    const bad: Array<[unknown, typeof RangeError | typeof TypeError, string]> = [
      [0, RangeError, "0"], [3, RangeError, "3"], [24, RangeError, "24"], [-8, RangeError, "-8"],
      [NaN, RangeError, "NaN"], [1.5, RangeError, "1.5"], [2 ** 32, RangeError, "4294967296"],
      [Infinity, RangeError, "Infinity"], ["16", TypeError, '"16"'], [undefined, TypeError, "undefined"],
      [null, TypeError, "null"], [16n, TypeError, "16n"],
    ];
    for (const [alignment, type, shown] of bad) {
      assert.throws(
        () => heap.alignedAlloc(alignment as number, 64),
        (e: unknown) => {
          assert.ok(e instanceof type, `alignedAlloc(${String(alignment)}, 64) threw ${String(e)}, expected a ${type.name}`);
          assert.ok(e.message.includes(shown), `message names ${shown}: ${e.message}`);
          return true;
        },
      );
    }
    assert.deepEqual(heap.stats(), before);
  });
});

describe("view", () => {
  test("view(Float64Array, p, n) reads and writes the block's bytes", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(64);
    const v = heap.view(Float64Array, p, 8);
    assert.ok(v instanceof Float64Array);
    assert.equal(v.length, 8);
    assert.equal(v.byteOffset, p);
    assert.equal(v.buffer, heap.buffer);
    for (let i = 0; i < 8; i++) v[i] = i + 0.5;
    const dv = new DataView(heap.buffer, p, 64);
    for (let i = 0; i < 8; i++) assert.equal(dv.getFloat64(i * 8, true), i + 0.5);
    // calloc + view, as in the README.
    const q = heap.calloc(8, 8);
    const w = heap.view(Float64Array, q, 8);
    assert.deepEqual([...w], [0, 0, 0, 0, 0, 0, 0, 0]);
    w.fill(1);
    assert.deepEqual([...heap.view(Float64Array, p, 8)], [0.5, 1.5, 2.5, 3.5, 4.5, 5.5, 6.5, 7.5]);
    // Other element types and a pointer inside the block.
    assert.equal(heap.view(Uint8Array, p, heap.usableSize(p)).length, heap.usableSize(p));
    assert.equal(heap.view(Int32Array, p + 8, 14).length, 14);
    assert.equal(heap.view(Float64Array, p + 56, 1)[0], 7.5);
    // A large block.
    const big = heap.malloc(300_000);
    const bv = heap.view(Float64Array, big, heap.usableSize(big) / 8);
    bv[bv.length - 1] = 42;
    assert.equal(new DataView(heap.buffer).getFloat64(big + heap.usableSize(big) - 8, true), 42);
  });

  test("view throws a RangeError on a misaligned pointer", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(64);
    const cases: Array<[TypedArrayConstructor<unknown>, number]> = [[Float64Array, 4], [Float64Array, 1], [Int32Array, 2], [Uint16Array, 1]];
    for (const [type, off] of cases) {
      assert.throws(() => heap.view(type, p + off, 1), (e: unknown) => {
        assert.ok(e instanceof RangeError, String(e));
        assert.ok(e.message.includes(String(p + off)), `message names the pointer ${p + off}: ${e.message}`);
        return true;
      });
    }
  });

  test("view throws a RangeError when it runs past the end of the block", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(64);
    const usable = heap.usableSize(p);
    assert.throws(() => heap.view(Float64Array, p, usable / 8 + 1), RangeError);
    assert.throws(() => heap.view(Uint8Array, p, usable + 1), RangeError);
    assert.throws(() => heap.view(Float64Array, p + 8, usable / 8), RangeError);
    const big = heap.malloc(300_000);
    assert.throws(() => heap.view(Float64Array, big, heap.usableSize(big) / 8 + 1), RangeError);
    // Not inside any block: the metadata, a free page.
    assert.throws(() => heap.view(Uint8Array, 64, 1), RangeError);
    const s = heap.stats();
    assert.throws(() => heap.view(Uint8Array, s.mappedBytes - PAGE_SIZE, 1), RangeError);
  });
});

describe("stats", () => {
  test("a new heap is empty and its geometry adds up", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const s = heap.stats();
    assert.equal(s.liveBytes, 0);
    assert.equal(s.liveBlocks, 0);
    assert.equal(s.heapBytes, 0);
    assert.equal(s.peakHeapBytes, 0);
    assert.equal(s.largeBlocks, 0);
    assert.equal(s.largeBytes, 0);
    assert.deepEqual(s.classes, []);
    assert.equal(s.segmentBytes, 128 * KiB, "default segment: 128 KiB");
    assert.ok(s.metadataBytes > 0);
    assert.equal(s.metadataBytes % PAGE_SIZE, 0, "with base 0, the first data page is page-aligned");
    assert.equal(dataBytes(s), s.segmentBytes, "a new buffer starts with one segment of data pages");
    assert.equal(s.tableBytes, 2 * PAGE_SIZE, "of which a page of page table and one of thread slots");
    assert.ok(s.mappedBytes <= 256 * KiB, `a new heap maps ${s.mappedBytes} bytes, at most 256 KiB`);
    assert.ok(s.mappedBytes <= heap.buffer.byteLength);
    assert.equal(s.segmentsInUse, 0);
    assert.equal(s.segmentsCached, 1);
    assert.ok(s.growths >= 0);
  });

  test("segmentBytes follows the option", () => {
    for (const seg of [2 * PAGE_SIZE, 4 * MiB]) {
      const heap = createHeap({ maxBytes: 64 * MiB, segmentBytes: seg });
      const s = heap.stats();
      assert.equal(s.segmentBytes, seg);
      assert.equal(dataBytes(s) % seg, 0);
    }
  });

  test("every field agrees with what was allocated", () => {
    const heap = createHeap({ maxBytes: 256 * MiB });
    const s0 = heap.stats();
    const small: number[] = [];
    for (let i = 0; i < 300; i++) small.push(heap.malloc(100)); // class 112
    const mid: number[] = [];
    for (let i = 0; i < 10; i++) mid.push(heap.malloc(5000)); // class 5120
    const large = [heap.malloc(300_000), heap.malloc(MiB), heap.malloc(3 * MiB + 1)];
    const largeBytes = pagesBytes(300_000) + pagesBytes(MiB) + pagesBytes(3 * MiB + 1);
    const s = heap.stats();

    assert.equal(s.liveBlocks, 313);
    assert.equal(s.liveBytes, 300 * 112 + 10 * 5120 + largeBytes);
    assert.equal(s.largeBlocks, 3);
    assert.equal(s.largeBytes, largeBytes);
    assert.deepEqual(s.classes.map((c) => c.size), [112, 5120]);
    const c112 = s.classes[0]!;
    const c5120 = s.classes[1]!;
    assert.equal(c112.liveBlocks, 300);
    assert.equal(c5120.liveBlocks, 10);
    for (const c of s.classes) {
      assert.ok(c.pages >= 1);
      assert.ok(c.capacity >= c.liveBlocks);
      assert.ok(c.capacity * c.size <= c.pages * MiB, "a class page spans at most 1 MiB");
    }
    // A class's spans grow: 8 KiB (73 blocks of 112 bytes), then 16 KiB, then 32 KiB.
    assert.equal(c112.pages, 3, "300 blocks of 112 bytes take spans of 1, 2 and 4 pages");
    assert.equal(c112.capacity, 73 + 146 + 292);
    // heapBytes: the pages in use, small and large.
    const classBytes = s.classes.reduce((sum, c) => sum + c.capacity * c.size, 0);
    assert.ok(s.heapBytes >= classBytes + largeBytes, `heapBytes ${s.heapBytes} holds the class pages and large blocks`);
    assert.equal(s.heapBytes % PAGE_SIZE, 0);
    assert.ok(s.heapBytes <= dataBytes(s));
    assert.ok(s.peakHeapBytes >= s.heapBytes);
    assert.equal(s.metadataBytes, s0.metadataBytes);
    assert.ok(s.tableBytes > s0.tableBytes, "the page tables grow with what is mapped");
    assert.equal(s.segmentBytes, s0.segmentBytes);
    // 4+ MiB of data on a heap that started with 1 MiB: it grew.
    assert.ok(s.growths > s0.growths, "the heap grew");
    assert.ok(dataBytes(s) >= s.heapBytes);
    assert.equal(s.segmentsInUse + s.segmentsCached, Math.ceil(dataBytes(s) / s.segmentBytes));
    assert.ok(s.segmentsInUse >= Math.ceil(s.heapBytes / s.segmentBytes));
    assert.ok(s.mappedBytes <= heap.buffer.byteLength);

    // Free the large blocks: heapBytes drops by their pages, the peak stays.
    for (const p of large) heap.free(p);
    const t = heap.stats();
    assert.equal(t.largeBlocks, 0);
    assert.equal(t.largeBytes, 0);
    assert.equal(t.liveBlocks, 310);
    assert.equal(t.liveBytes, 300 * 112 + 10 * 5120);
    assert.equal(t.heapBytes, s.heapBytes - largeBytes);
    assert.equal(t.peakHeapBytes, s.peakHeapBytes);
    assert.equal(t.mappedBytes, s.mappedBytes, "mapped memory is kept");
    assert.equal(t.growths, s.growths);
    assert.ok(t.segmentsCached >= 1, "the segments the large blocks used are cached for reuse");

    for (const p of [...small, ...mid]) heap.free(p);
    const u = heap.stats();
    assert.equal(u.liveBlocks, 0);
    assert.equal(u.liveBytes, 0);
    for (const c of u.classes) assert.equal(c.liveBlocks, 0);
  });

  test("liveBlocks counts blocks in full pages too (more blocks than one page holds)", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    for (const [n, count] of [[16, 5000], [100, 2000], [1000, 300], [5000, 100], [100_000, 30]] as const) {
      const ptrs: number[] = [];
      for (let i = 0; i < count; i++) ptrs.push(heap.malloc(n));
      const s = heap.stats();
      const usable = heap.usableSize(ptrs[0]!);
      assert.equal(s.liveBlocks, count, `${count} blocks of ${n} bytes`);
      assert.equal(s.liveBytes, count * usable, `${count} blocks of ${n} bytes`);
      const cls = s.classes.find((c) => c.size === usable);
      assert.ok(cls !== undefined);
      assert.equal(cls.liveBlocks, count);
      assert.ok(cls.pages >= 2, "the blocks fill more than one page");
      // Free a few from the first (full) page, then all.
      for (let i = 0; i < 3; i++) heap.free(ptrs[i]!);
      assert.equal(heap.stats().liveBlocks, count - 3, `${count - 3} blocks of ${n} bytes left`);
      for (let i = 3; i < count; i++) heap.free(ptrs[i]!);
      assert.equal(heap.stats().liveBlocks, 0);
      assert.equal(heap.stats().liveBytes, 0);
    }
  });

  test("stats() is a snapshot: it does not change the heap", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(100);
    const a = heap.stats();
    const b = heap.stats();
    assert.deepEqual(a, b);
    assert.notEqual(a, b);
    heap.free(p);
    assert.equal(a.liveBlocks, 1, "an earlier snapshot is not updated");
  });
});

describe("reset", () => {
  test("reset() empties the heap, keeps its buffer and growth, and allocation works again", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    for (let i = 0; i < 5000; i++) heap.malloc(i % 1500);
    for (let i = 0; i < 5; i++) heap.malloc(MiB + i);
    const before = heap.stats();
    assert.ok(before.liveBlocks > 0);
    heap.reset();
    const s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.equal(s.liveBytes, 0);
    assert.equal(s.heapBytes, 0);
    assert.equal(s.largeBlocks, 0);
    assert.equal(s.largeBytes, 0);
    assert.equal(s.segmentsInUse, 0);
    assert.deepEqual(s.classes, []);
    assert.equal(s.mappedBytes, before.mappedBytes, "reset keeps the mapped memory");
    assert.equal(s.growths, before.growths);

    // Every page is free again: the same blocks fit again, with no growth.
    const again: number[] = [];
    for (let i = 0; i < 5000; i++) again.push(heap.malloc(i % 1500));
    for (let i = 0; i < 5; i++) again.push(heap.malloc(MiB + i));
    assert.ok(!again.includes(0));
    assert.equal(heap.stats().mappedBytes, before.mappedBytes, "no growth: the pages were reused");
    for (const p of again) heap.free(p);
    // And ordinary allocation works.
    const ptrs: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = heap.malloc(i);
      fillPattern(heap.u8, p, i, i);
      ptrs.push(p);
    }
    for (let i = 0; i < 1000; i++) assertPattern(heap.u8, ptrs[i]!, i, i);
    assert.equal(heap.stats().liveBlocks, 1000);
    for (const p of ptrs) heap.free(p);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("after reset(), pointers from before no longer name blocks", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const small = heap.malloc(100);
    const large = heap.malloc(2 * MiB);
    heap.reset();
    const before = heap.stats();
    assert.throws(() => heap.free(large), RangeError);
    assert.throws(() => heap.usableSize(small), RangeError);
    assert.throws(() => heap.free(small), RangeError);
    assert.throws(() => heap.free(large + 5 * PAGE_SIZE), RangeError);
    assert.deepEqual(heap.stats(), before);
  });
});

describe("dispose", () => {
  test("dispose() makes every later call throw, and leaves the memory alone", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(100);
    const big = heap.malloc(300_000);
    fillPattern(heap.u8, p, 100, 1);
    fillPattern(heap.u8, big, 300_000, 2);
    const u8 = heap.u8;
    heap.dispose();
    const calls: Array<[string, () => unknown]> = [
      ["malloc(8)", () => heap.malloc(8)],
      ["malloc(100)", () => heap.malloc(100)],
      ["malloc(5000)", () => heap.malloc(5000)],
      ["malloc(1 MiB)", () => heap.malloc(MiB)],
      ["free(p)", () => heap.free(p)],
      ["free(big)", () => heap.free(big)],
      ["calloc(1, 8)", () => heap.calloc(1, 8)],
      ["realloc(p, 200)", () => heap.realloc(p, 200)],
      ["realloc(0, 8)", () => heap.realloc(0, 8)],
      ["alignedAlloc(64, 8)", () => heap.alignedAlloc(64, 8)],
      ["usableSize(p)", () => heap.usableSize(p)],
      ["view(Uint8Array, p, 1)", () => heap.view(Uint8Array, p, 1)],
      ["stats()", () => heap.stats()],
      ["reset()", () => heap.reset()],
    ];
    for (const [what, call] of calls) {
      assert.throws(call, /dispose/, `${what} after dispose()`);
    }
    assert.doesNotThrow(() => heap.dispose(), "dispose() twice is harmless");
    assertPattern(u8, p, 100, 1);
    assertPattern(u8, big, 300_000, 2);
  });
});
