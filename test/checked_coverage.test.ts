/**
 * What checked mode covers, byte by byte.
 * - Every offset of a freed block: in complete checked mode (`check: true`) a write to any byte
 *   of a freed block of 8, 24, 64, 1000 or 12,000 requested bytes — its free-list link, its free
 *   key, the fill, the trailer — is reported by check() with the block named, and at its reuse
 *   malloc throws a HeapCorruptionError naming it (and withholds it).
 * - Every offset past the request: a write to any byte between the requested size and the end of
 *   the block (small, mid and large blocks) makes free() throw a HeapCorruptionError naming the
 *   block, and check() report it; with the byte restored, the free goes through.
 * - The fast variant (`check: "fast"`) covers the 8 bytes past the request and the first words
 *   of a freed block.
 */

import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { HeapCorruptionError, MID_MAX, PAGE_SIZE, SIZE_CLASSES, createHeap, type CheckReport, type Heap } from "../src/index.js";

const MiB = 1 << 20;
const SIZES = [8, 24, 64, 1000, 12_000];

/** The block checked mode takes for `n` requested bytes: n + 8 (at least 16), rounded to its class. */
function blockSize(n: number): number {
  const want = Math.max(16, n + 8);
  return want > MID_MAX ? Math.ceil(want / PAGE_SIZE) * PAGE_SIZE : SIZE_CLASSES.find((s) => s >= want)!;
}

function hex(p: number): string {
  return `0x${p.toString(16)}`;
}

/** True when a problem of `rep` is about block `p` (its pointer, or named in its message). */
function names(rep: CheckReport, p: number): boolean {
  return rep.problems.some((pr) => pr.pointer === p || pr.message.includes(hex(p)));
}

function checkedHeap(check: true | "fast" = true): Heap {
  const heap = createHeap({ maxBytes: 16 * MiB, check });
  assert.equal(heap.check().checked, true);
  return heap;
}

/** A freed block `p` of `n` requested bytes between two live ones, and its heap. */
function freedBlock(n: number, check: true | "fast" = true): { heap: Heap; p: number } {
  const heap = checkedHeap(check);
  heap.malloc(n);
  const p = heap.malloc(n);
  heap.malloc(n);
  heap.free(p);
  assert.deepEqual(heap.check().problems, [], "after the free");
  return { heap, p };
}

/** Offsets of a block of `size` bytes: every one up to 128 bytes, above that the first and last 64 and every 7th. */
function sampleOffsets(size: number): number[] {
  const all = Array.from({ length: size }, (_, o) => o);
  return size <= 128 ? all : all.filter((o) => o < 64 || o >= size - 64 || o % 7 === 0);
}

describe("complete checked mode: every offset of a freed block", () => {
  for (const n of SIZES) {
    const size = blockSize(n);
    test(`${n} bytes (a ${size}-byte block): each of its ${size} bytes written after free() is named by check()`, () => {
      const { heap, p } = freedBlock(n);
      const u8 = heap.u8;
      for (let o = 0; o < size; o++) {
        u8[p + o]! ^= 0xa5;
        const rep = heap.check();
        assert.ok(names(rep, p), `byte ${o} of ${hex(p)}: check() reported ${JSON.stringify(rep.problems)}`);
        u8[p + o]! ^= 0xa5;
      }
      assert.deepEqual(heap.check().problems, [], "with every byte restored");
    });

    test(`${n} bytes: a byte written after free() makes the malloc that reuses the block throw, naming it`, () => {
      for (const o of sampleOffsets(size)) {
        const { heap, p } = freedBlock(n);
        heap.u8[p + o]! ^= 0xa5;
        assert.throws(
          () => heap.malloc(n),
          (e: Error) => e instanceof HeapCorruptionError && e.pointer === p && e.fault === "use-after-free",
          `byte ${o} of ${hex(p)}`,
        );
        // Withheld: the next mallocs never hand it out, and check() names it.
        for (let k = 0; k < 8; k++) assert.notEqual(heap.malloc(n), p);
        assert.ok(names(heap.check(), p), `byte ${o}: check() after the catch`);
      }
    });
  }
});

describe("complete checked mode: every offset past the request", () => {
  for (const n of [...SIZES, 100_000, MID_MAX + 1000]) {
    const size = blockSize(n);
    test(`${n} bytes (a ${size}-byte block): a write to each of bytes ${n}..${size - 1} is reported on free() and by check()`, () => {
      const heap = checkedHeap();
      const p = heap.malloc(n);
      assert.notEqual(p, 0);
      const u8 = heap.u8;
      for (let o = n; o < size; o++) {
        u8[p + o]! ^= 0x5a;
        assert.throws(
          () => heap.free(p),
          (e: Error) => e instanceof HeapCorruptionError && e.pointer === p && e.fault === "overflow",
          `byte ${o} of ${hex(p)}`,
        );
        if (o % 61 === 0 || o >= size - 4) assert.ok(names(heap.check(), p), `byte ${o}: check()`);
        u8[p + o]! ^= 0x5a;
      }
      heap.free(p);
      assert.deepEqual(heap.check().problems, []);
      assert.equal(heap.stats().liveBlocks, 0);
    });
  }
});

describe('the fast variant (check: "fast")', () => {
  test("the 8 bytes past the request and the first words of a freed block are covered", () => {
    for (const n of SIZES) {
      const heap = checkedHeap("fast");
      const p = heap.malloc(n);
      for (let o = n; o < n + 8; o++) {
        heap.u8[p + o]! ^= 0x5a;
        assert.throws(() => heap.free(p), (e: Error) => e instanceof HeapCorruptionError && e.pointer === p, `${n}: byte ${o}`);
        heap.u8[p + o]! ^= 0x5a;
      }
      heap.free(p);
      for (let o = 4; o < 20; o++) {
        heap.u8[p + o]! ^= 0xa5;
        assert.ok(names(heap.check(), p), `${n}: freed byte ${o}`);
        heap.u8[p + o]! ^= 0xa5;
      }
      assert.deepEqual(heap.check().problems, []);
    }
  });
});
