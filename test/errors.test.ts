/**
 * Bad input, and that it leaves the heap alone:
 * - sizes that are not non-negative safe integers → TypeError (not a number) or RangeError,
 *   whose message names the value, for malloc, calloc, realloc and alignedAlloc;
 * - sizes too large for the heap, and exhaustion with no room to grow → 0, stats unchanged;
 * - bad pointers for free, realloc and usableSize: outside the heap (below the data, past the
 *   end), inside a small or a large block, in a page never used or already released,
 *   non-integers, strings, negatives → RangeError / TypeError naming the pointer (its decimal
 *   value).
 * After every bad call, every live block still holds its pattern and stats() is unchanged.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHeap, PAGE_SIZE, type Heap } from "../src/index.js";
import { assertPattern, fillPattern } from "./patterns.js";

const MiB = 1 << 20;

type ErrorType = typeof TypeError | typeof RangeError;

/** A heap holding blocks of several kinds, each filled with its pattern. */
interface Fixture {
  heap: Heap;
  blocks: Array<{ p: number; n: number; id: number }>;
  /** A 16-byte block, a 112-byte block (requested 100), a large block of 5 pages (300000). */
  small16: number;
  small112: number;
  large: number;
  /** Start of the last mapped page; no block was ever allocated there in a fixed 8 MiB heap. */
  neverUsed: number;
  /** Start of a small page whose blocks were all freed, so that it went back to the span bins. */
  releasedSmall: number;
  /** Start of a large block that was freed. */
  releasedLarge: number;
}

function fixture(heap: Heap): Fixture {
  const blocks: Fixture["blocks"] = [];
  let id = 0;
  const keep = (n: number): number => {
    const p = heap.malloc(n);
    assert.notEqual(p, 0);
    fillPattern(heap.u8, p, n, ++id);
    blocks.push({ p, n, id });
    return p;
  };
  const small16 = keep(16);
  const small112 = keep(100);
  for (const n of [0, 8, 1000, 5000, 70_000]) keep(n);
  // Spans of 2048-byte blocks (a class no other block here uses), filled and emptied again, then
  // collect(): the thread cache goes back to the pages and every emptied page goes back to the
  // span bins. `view` tells which pages are free again (it throws outside live pages).
  const filled: number[] = [];
  for (let i = 0; i < 96; i++) filled.push(heap.malloc(2048));
  for (const p of filled) heap.free(p);
  heap.collect();
  const inUse = (p: number): boolean => {
    try {
      heap.view(Uint8Array, p, 1);
      return true;
    } catch {
      return false;
    }
  };
  assert.ok(filled.every((p) => !inUse(p)), "every emptied page went back to the heap");
  assert.equal(heap.stats().classes.find((c) => c.size === 2048), undefined, "no page of class 2048 is left");
  const releasedSmall = filled[filled.length - 1]!;
  const large = keep(300_000);
  // A large block freed between two live ones, so that its pages stay free.
  const releasedLarge = heap.malloc(500_000);
  keep(700_000);
  heap.free(releasedLarge);
  // The last mapped page: never used when the heap is much larger than the ~2 MiB used here.
  const s = heap.stats();
  const neverUsed = s.mappedBytes - PAGE_SIZE; // base 0: mappedBytes is the end of the data
  return { heap, blocks, small16, small112, large, neverUsed, releasedSmall, releasedLarge };
}

/** A fixed 8 MiB heap with the fixture's blocks. */
function fixedFixture(): Fixture {
  return fixture(createHeap({ buffer: new ArrayBuffer(8 * MiB) }));
}

function assertIntact(f: Fixture, what: string): void {
  const u8 = f.heap.u8;
  for (const b of f.blocks) assertPattern(u8, b.p, b.n, b.id, `after ${what}: block`);
}

/** Asserts that `call` throws `type` with a message containing every string of `shown`. */
function assertThrowsNaming(call: () => unknown, type: ErrorType, shown: string[], what: string): void {
  assert.throws(call, (e: unknown) => {
    assert.ok(e instanceof type, `${what} threw ${e instanceof Error ? `${e.constructor.name}: ${e.message}` : String(e)}, expected a ${type.name}`);
    for (const s of shown) assert.ok(e.message.includes(s), `${what}: message does not name ${s}: ${e.message}`);
    return true;
  }, `${what} did not throw`);
}

/** Bad sizes, the error each must raise, and how its message shows the value. */
const BAD_SIZES: Array<[unknown, ErrorType, string]> = [
  [-1, RangeError, "-1"],
  [1.5, RangeError, "1.5"],
  [NaN, RangeError, "NaN"],
  [Infinity, RangeError, "Infinity"],
  [-Infinity, RangeError, "-Infinity"],
  [2 ** 53, RangeError, "9007199254740992"],
  [-(2 ** 31), RangeError, String(-(2 ** 31))],
  ["8", TypeError, '"8"'],
  [undefined, TypeError, "undefined"],
  [null, TypeError, "null"],
  [{}, TypeError, "object"],
  [8n, TypeError, "8n"],
];

describe("bad sizes", () => {
  const f = fixedFixture();
  const heap = f.heap;
  const p = f.small112;
  const calls: Array<[string, (v: number) => unknown]> = [
    ["malloc(v)", (v) => heap.malloc(v)],
    ["calloc(v, 8)", (v) => heap.calloc(v, 8)],
    ["calloc(8, v)", (v) => heap.calloc(8, v)],
    ["realloc(0, v)", (v) => heap.realloc(0, v)],
    ["realloc(p, v)", (v) => heap.realloc(p, v)],
    ["alignedAlloc(64, v)", (v) => heap.alignedAlloc(64, v)],
    ["alignedAlloc(1 << 20, v)", (v) => heap.alignedAlloc(1 << 20, v)],
  ];
  for (const [value, type, shown] of BAD_SIZES) {
    const label = typeof value === "string" ? JSON.stringify(value) : typeof value === "bigint" ? `${value}n` : typeof value === "object" && value !== null ? "{}" : String(value);
    test(`size ${label} → ${type.name} naming it, heap unchanged`, () => {
      const before = heap.stats();
      for (const [name, call] of calls) {
        const what = name.replace("v", label);
        assertThrowsNaming(() => call(value as number), type, [shown], what);
      }
      assert.deepEqual(heap.stats(), before);
      assertIntact(f, `bad size ${label}`);
    });
  }
});

describe("sizes too large for the heap", () => {
  // A growable heap limited to 16 MiB, and a fixed 16 MiB one: neither can hold these.
  for (const [label, make] of [
    ["growable, maxBytes 16 MiB", () => createHeap({ maxBytes: 16 * MiB })],
    ["fixed 16 MiB ArrayBuffer", () => createHeap({ buffer: new ArrayBuffer(16 * MiB) })],
  ] as const) {
    test(`${label}: each request returns 0 and leaves stats() exactly as it was`, () => {
      const heap = make();
      const f = fixture(heap);
      const dataMax = 16 * MiB - heap.stats().metadataBytes;
      const cases: Array<[string, () => number]> = [
        ["malloc(2^32 - 1)", () => heap.malloc(2 ** 32 - 1)],
        ["malloc(2^32)", () => heap.malloc(2 ** 32)],
        ["malloc(2^53 - 1)", () => heap.malloc(2 ** 53 - 1)],
        ["malloc(maxBytes + 1)", () => heap.malloc(16 * MiB + 1)],
        ["malloc(maxBytes)", () => heap.malloc(16 * MiB)],
        ["malloc(data area + 1)", () => heap.malloc(dataMax + 1)],
        ["malloc(15 MiB)", () => heap.malloc(15 * MiB)],
        ["calloc(1, 2^32 - 1)", () => heap.calloc(1, 2 ** 32 - 1)],
        ["calloc(16, 1 MiB)", () => heap.calloc(16, MiB)],
        ["realloc(0, 2^32 - 1)", () => heap.realloc(0, 2 ** 32 - 1)],
        ["realloc(small, 2^32 - 1)", () => heap.realloc(f.small16, 2 ** 32 - 1)],
        ["realloc(small, 16 MiB)", () => heap.realloc(f.small112, 16 * MiB)],
        ["realloc(large, 15 MiB)", () => heap.realloc(f.large, 15 * MiB)],
        ["realloc(large, 2^53 - 1)", () => heap.realloc(f.large, 2 ** 53 - 1)],
        ["alignedAlloc(16, 2^32 - 1)", () => heap.alignedAlloc(16, 2 ** 32 - 1)],
        ["alignedAlloc(4096, 16 MiB)", () => heap.alignedAlloc(4096, 16 * MiB)],
        ["alignedAlloc(256 KiB, 15 MiB)", () => heap.alignedAlloc(4 * PAGE_SIZE, 15 * MiB)],
        ["alignedAlloc(2^31, 1)", () => heap.alignedAlloc(2 ** 31, 1)],
        ["alignedAlloc(2^30, 1)", () => heap.alignedAlloc(2 ** 30, 1)],
        ["alignedAlloc(8 MiB, 8 MiB)", () => heap.alignedAlloc(8 * MiB, 8 * MiB)],
      ];
      for (const [what, call] of cases) {
        const before = heap.stats();
        assert.equal(call(), 0, what);
        assert.deepEqual(heap.stats(), before, `${what} changed the heap`);
      }
      assertIntact(f, "too-large requests");
    });
  }
});

describe("exhaustion with no room to grow", () => {
  for (const [label, make] of [
    ["a fixed ArrayBuffer", () => createHeap({ buffer: new ArrayBuffer(4 * MiB) })],
    ["a growable SharedArrayBuffer at its maxBytes", () => createHeap({ maxBytes: 4 * MiB })],
  ] as const) {
    test(`${label}: every request returns 0 and the heap is unchanged`, () => {
      const heap = make();
      const blocks: Array<{ p: number; n: number; id: number }> = [];
      let id = 0;
      // A few blocks of a mix of sizes, then fill up with ever smaller blocks until nothing fits.
      for (const n of [300_000, 100_000, 5000, 1000, 100, 16]) {
        for (let i = 0; i < 3; i++) {
          const p = heap.malloc(n);
          assert.notEqual(p, 0);
          fillPattern(heap.u8, p, n, ++id);
          blocks.push({ p, n, id });
        }
      }
      for (const n of [300_000, 65_536, 1024, 16]) {
        for (let p = heap.malloc(n); p !== 0; p = heap.malloc(n)) {
          fillPattern(heap.u8, p, n, ++id);
          blocks.push({ p, n, id });
        }
      }
      const before = heap.stats();
      const q = blocks.find((b) => b.n === 1000)!;
      const cases: Array<[string, () => number]> = [
        ["malloc(1 MiB)", () => heap.malloc(MiB)],
        ["malloc(300000)", () => heap.malloc(300_000)],
        ["malloc(150000)", () => heap.malloc(150_000)],
        ["malloc(2000)", () => heap.malloc(2000)],
        ["calloc(30, 100)", () => heap.calloc(30, 100)],
        ["alignedAlloc(4096, 100)", () => heap.alignedAlloc(4096, 100)],
        ["alignedAlloc(1 MiB, 1)", () => heap.alignedAlloc(MiB, 1)],
        ["realloc(0, 2000)", () => heap.realloc(0, 2000)],
        ["realloc(p, 3000)", () => heap.realloc(q.p, 3000)],
      ];
      for (const [what, call] of cases) {
        assert.equal(call(), 0, `${what} on a full heap`);
        assert.deepEqual(heap.stats(), before, `${what} changed the heap`);
      }
      const u8 = heap.u8;
      for (const b of blocks) assertPattern(u8, b.p, b.n, b.id);
    });
  }

  test("on a full heap, a freed block can be allocated again by a request of its size", () => {
    const heap = createHeap({ buffer: new ArrayBuffer(4 * MiB) });
    for (const n of [16, 1000, 5000]) {
      const ptrs: number[] = [];
      for (let p = heap.malloc(n); p !== 0; p = heap.malloc(n)) ptrs.push(p);
      assert.ok(ptrs.length > 100);
      assert.equal(heap.malloc(n), 0, "the heap is full");
      // Free one block in the middle of a full page: a request of the same size fits it.
      const victim = ptrs[Math.floor(ptrs.length / 2)]!;
      heap.free(victim);
      const again = heap.malloc(n);
      assert.notEqual(again, 0, `malloc(${n}) after free(${victim}) on a full heap returned 0: the freed block is stranded`);
      assert.equal(again, victim);
      heap.reset();
    }
  });
});

/** Bad pointers of every kind, the error each must raise, and the text its message must hold. */
function badPointers(f: Fixture): Array<[string, unknown, ErrorType, string]> {
  const s = f.heap.stats();
  const dataStart = s.metadataBytes; // base 0
  const end = s.mappedBytes;
  return [
    ["below the data start (in the header)", 8, RangeError, "8"],
    ["below the data start (in the metadata)", dataStart - 16, RangeError, String(dataStart - 16)],
    ["the first byte past the mapped data", end, RangeError, String(end)],
    ["past the end of the buffer", f.heap.buffer.byteLength + PAGE_SIZE, RangeError, String(f.heap.buffer.byteLength + PAGE_SIZE)],
    ["the largest uint32", 2 ** 32 - 1, RangeError, String(2 ** 32 - 1)],
    ["inside a 16-byte block (8 in)", f.small16 + 8, RangeError, String(f.small16 + 8)],
    ["inside a 16-byte block (1 in)", f.small16 + 1, RangeError, String(f.small16 + 1)],
    ["inside a 112-byte block (16 in)", f.small112 + 16, RangeError, String(f.small112 + 16)],
    ["inside a 112-byte block (104 in)", f.small112 + 104, RangeError, String(f.small112 + 104)],
    ["inside a large block (8 in)", f.large + 8, RangeError, String(f.large + 8)],
    ["inside a large block (its second page)", f.large + PAGE_SIZE, RangeError, String(f.large + PAGE_SIZE)],
    ["inside a large block (its last 16 bytes)", f.large + 300_000 - 16, RangeError, String(f.large + 300_000 - 16)],
    ["a page never used", f.neverUsed, RangeError, String(f.neverUsed)],
    ["inside a page never used", f.neverUsed + 4096, RangeError, String(f.neverUsed + 4096)],
    ["a small page already released", f.releasedSmall, RangeError, String(f.releasedSmall)],
    ["a block of a released small page", f.releasedSmall + 2048 * 5, RangeError, String(f.releasedSmall + 2048 * 5)],
    ["a large block already freed", f.releasedLarge, RangeError, String(f.releasedLarge)],
    ["the second page of a freed large block", f.releasedLarge + PAGE_SIZE, RangeError, String(f.releasedLarge + PAGE_SIZE)],
    ["a fraction", f.small112 + 0.5, RangeError, String(f.small112 + 0.5)],
    ["1.5", 1.5, RangeError, "1.5"],
    ["negative", -8, RangeError, "-8"],
    ["-1", -1, RangeError, "-1"],
    ["NaN", NaN, RangeError, "NaN"],
    ["Infinity", Infinity, RangeError, "Infinity"],
    ["2^32", 2 ** 32, RangeError, "4294967296"],
    ["2^32 + a block", 2 ** 32 + f.small112, RangeError, String(2 ** 32 + f.small112)],
    ["a string", String(f.small112), TypeError, String(f.small112)],
    ["undefined", undefined, TypeError, "undefined"],
    ["null", null, TypeError, "null"],
    ["an object", {}, TypeError, "object"],
    ["a bigint", BigInt(f.small112), TypeError, `${f.small112}n`],
  ];
}

describe("bad pointers", () => {
  const fns: Array<[string, (h: Heap, p: number) => unknown]> = [
    ["free", (h, p) => h.free(p)],
    ["realloc(p, 64)", (h, p) => h.realloc(p, 64)],
    ["realloc(p, 1 MiB)", (h, p) => h.realloc(p, MiB)],
    ["realloc(p, 0)", (h, p) => h.realloc(p, 0)],
    ["usableSize", (h, p) => h.usableSize(p)],
  ];
  for (const [fname, call] of fns) {
    describe(fname, () => {
      const f = fixedFixture();
      for (const [label, ptr, type, shown] of badPointers(f)) {
        test(`${label} → ${type.name} naming it; blocks and stats unchanged`, () => {
          const before = f.heap.stats();
          assertThrowsNaming(() => call(f.heap, ptr as number), type, [shown], `${fname} of ${label} (${String(ptr)})`);
          assert.deepEqual(f.heap.stats(), before, "stats changed");
          assertIntact(f, `${fname} of ${label}`);
        });
      }
      test("the heap still works after all the bad calls", () => {
        for (const b of f.blocks) assert.equal(f.heap.usableSize(b.p) >= b.n, true);
        const p = f.heap.malloc(100);
        assert.notEqual(p, 0);
        f.heap.free(p);
        for (const b of f.blocks) f.heap.free(b.p);
        assert.equal(f.heap.stats().liveBlocks, 0);
      });
    });
  }

  test("a growable heap: a pointer past the mapped end but inside the buffer's reach is outside the heap", () => {
    const heap = createHeap({ maxBytes: 64 * MiB });
    const p = heap.malloc(100);
    fillPattern(heap.u8, p, 100, 1);
    const s = heap.stats();
    const before = heap.stats();
    for (const ptr of [s.mappedBytes, s.mappedBytes + 8 * PAGE_SIZE, 64 * MiB - 16]) {
      for (const [fname, call] of [["free", () => heap.free(ptr)], ["usableSize", () => heap.usableSize(ptr)], ["realloc", () => heap.realloc(ptr, 8)]] as const) {
        assertThrowsNaming(call, RangeError, [String(ptr)], `${fname}(${ptr})`);
      }
    }
    assert.deepEqual(heap.stats(), before);
    assertPattern(heap.u8, p, 100, 1);
  });
});
