/**
 * createHeap over every kind of backing memory, and over a region of a buffer that holds other
 * data:
 * - a new buffer: the default (a growable SharedArrayBuffer) and `shared: false` (a resizable
 *   ArrayBuffer);
 * - a given buffer: a fixed ArrayBuffer, a resizable ArrayBuffer, a fixed SharedArrayBuffer, a
 *   growable SharedArrayBuffer, a WebAssembly.Memory (not shared, and shared);
 * - a region [base, base + maxBytes) of a buffer whose bytes before base and after the region are
 *   filled with a pattern, which must be untouched after heavy use (incl. growth and reset);
 * - regions high in the 4 GiB pointer range (pointers >= 2^31, and up to the top);
 * - the options createHeap rejects.
 * For each kind: blocks lie inside the region and inside the buffer, keep their contents across
 * growth, `heap.buffer` is the memory pointers index, and freeing everything empties the heap.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHeap, MID_MAX, PAGE_SIZE, type Heap, type HeapOptions } from "../src/index.js";
import { assertPattern, fillPattern, findPatternMismatch } from "./patterns.js";

const MiB = 1 << 20;
const KiB = 1024;

/** A small deterministic PRNG (mulberry32), so that every run does the same thing. */
function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A size from every range: small, mid and large. */
function randomSize(r: () => number, largeMax = 2 * MiB): number {
  const x = r();
  if (x < 0.7) return Math.floor(r() * 1025);
  if (x < 0.93) return 1025 + Math.floor(r() * (MID_MAX - 1024));
  return MID_MAX + 1 + Math.floor(r() * (largeMax - MID_MAX));
}

interface Block {
  p: number;
  n: number;
  id: number;
}

/** The byte range [lo, hi) where the heap's blocks must lie. */
function assertInside(heap: Heap, blocks: Iterable<Block>, base: number, maxBytes: number): void {
  const s = heap.stats();
  const lo = base + s.metadataBytes;
  const hi = base + s.mappedBytes;
  assert.ok(hi <= base + maxBytes, "mapped data stays inside the region");
  assert.ok(hi <= heap.buffer.byteLength, "mapped data lies inside the buffer");
  for (const b of blocks) {
    const usable = heap.usableSize(b.p);
    assert.ok(b.p >= lo && b.p + usable <= hi, `block [${b.p}, ${b.p + usable}) outside the data [${lo}, ${hi})`);
  }
}

/**
 * Allocates a mix of blocks (growing the heap when it can), checks them, frees them, and checks
 * that the heap is empty. Returns the number of growths seen.
 */
function exercise(heap: Heap, opts: { base?: number; maxBytes: number; targetBytes: number; seed: number }): number {
  const r = rng(opts.seed);
  const base = opts.base ?? 0;
  const blocks: Block[] = [];
  const s0 = heap.stats();
  let bytes = 0;
  let id = 0;
  let failures = 0;
  while (bytes < opts.targetBytes && failures < 20) {
    const n = randomSize(r, 1536 * KiB);
    const p = heap.malloc(n);
    if (p === 0) {
      failures++;
      continue;
    }
    fillPattern(heap.u8, p, n, ++id);
    blocks.push({ p, n, id });
    bytes += n;
    // Free one in five, at random, so that pages are reused while the heap grows.
    if (r() < 0.2) {
      const i = Math.floor(r() * blocks.length);
      const b = blocks[i]!;
      assertPattern(heap.u8, b.p, b.n, b.id);
      heap.free(b.p);
      bytes -= b.n;
      blocks[i] = blocks[blocks.length - 1]!;
      blocks.pop();
    }
  }
  const s = heap.stats();
  assert.equal(s.liveBlocks, blocks.length);
  assert.equal(s.liveBytes, blocks.reduce((sum, b) => sum + heap.usableSize(b.p), 0));
  assertInside(heap, blocks, base, opts.maxBytes);
  const u8 = heap.u8;
  assert.equal(u8.buffer, heap.buffer, "heap.u8 views heap.buffer");
  assert.equal(u8.byteLength, heap.buffer.byteLength, "heap.u8 covers the whole buffer");
  for (const b of blocks) assertPattern(u8, b.p, b.n, b.id);
  for (const b of blocks) heap.free(b.p);
  const e = heap.stats();
  assert.equal(e.liveBlocks, 0);
  assert.equal(e.liveBytes, 0);
  assert.equal(e.largeBlocks, 0);
  return e.growths - s0.growths;
}

describe("new buffers", () => {
  test("default: a growable SharedArrayBuffer, up to 1 GiB, that grows", () => {
    const heap = createHeap();
    const buf = heap.buffer;
    assert.ok(buf instanceof SharedArrayBuffer);
    assert.equal(buf.growable, true);
    assert.equal(buf.maxByteLength, 1 << 30);
    const s = heap.stats();
    assert.equal(s.mappedBytes - s.metadataBytes, s.segmentBytes, "starts with one segment");
    const growths = exercise(heap, { maxBytes: 1 << 30, targetBytes: 12 * MiB, seed: 1 });
    assert.ok(growths > 0, "it grew");
    assert.equal(heap.buffer, buf, "a SharedArrayBuffer grows in place");
  });

  test("shared: false: a resizable ArrayBuffer that grows", () => {
    const heap = createHeap({ shared: false, maxBytes: 256 * MiB });
    const buf = heap.buffer;
    assert.ok(buf instanceof ArrayBuffer);
    assert.ok(!(buf instanceof SharedArrayBuffer));
    assert.equal((buf as ArrayBuffer).resizable, true);
    assert.equal((buf as ArrayBuffer).maxByteLength, 256 * MiB);
    const growths = exercise(heap, { maxBytes: 256 * MiB, targetBytes: 12 * MiB, seed: 2 });
    assert.ok(growths > 0, "it grew");
    assert.equal(heap.buffer, buf);
  });

  test("initialBytes sizes the new buffer", () => {
    const heap = createHeap({ initialBytes: 8 * MiB, maxBytes: 64 * MiB });
    const s = heap.stats();
    assert.ok(s.mappedBytes >= 8 * MiB - PAGE_SIZE, `mappedBytes ${s.mappedBytes}`);
    assert.ok(heap.buffer.byteLength >= 8 * MiB - PAGE_SIZE);
    // Up to the initial size, no growth.
    const g = s.growths;
    const p = heap.malloc(4 * MiB);
    assert.notEqual(p, 0);
    assert.equal(heap.stats().growths, g);
  });
});

describe("given buffers", () => {
  test("a fixed ArrayBuffer: used as is, never grown", () => {
    const buf = new ArrayBuffer(8 * MiB);
    const heap = createHeap({ buffer: buf });
    assert.equal(heap.buffer, buf);
    const s = heap.stats();
    assert.equal(s.mappedBytes, 8 * MiB, "the whole buffer is mapped at once");
    const growths = exercise(heap, { maxBytes: 8 * MiB, targetBytes: 6 * MiB, seed: 3 });
    assert.equal(growths, 0);
    assert.equal(buf.byteLength, 8 * MiB);
  });

  test("a resizable ArrayBuffer: grown in place up to its maxByteLength", () => {
    const buf = new ArrayBuffer(2 * MiB, { maxByteLength: 32 * MiB });
    const heap = createHeap({ buffer: buf });
    assert.equal(heap.buffer, buf);
    const growths = exercise(heap, { maxBytes: 32 * MiB, targetBytes: 14 * MiB, seed: 4 });
    assert.ok(growths > 0);
    assert.ok(buf.byteLength > 2 * MiB && buf.byteLength <= 32 * MiB);
    assert.equal(heap.buffer, buf);
  });

  test("a fixed SharedArrayBuffer", () => {
    const buf = new SharedArrayBuffer(8 * MiB);
    const heap = createHeap({ buffer: buf });
    assert.equal(heap.buffer, buf);
    const growths = exercise(heap, { maxBytes: 8 * MiB, targetBytes: 6 * MiB, seed: 5 });
    assert.equal(growths, 0);
  });

  test("a growable SharedArrayBuffer: grown in place up to its maxByteLength", () => {
    const buf = new SharedArrayBuffer(2 * MiB, { maxByteLength: 32 * MiB });
    const heap = createHeap({ buffer: buf });
    assert.equal(heap.buffer, buf);
    const growths = exercise(heap, { maxBytes: 32 * MiB, targetBytes: 14 * MiB, seed: 6 });
    assert.ok(growths > 0);
    assert.ok(buf.byteLength > 2 * MiB && buf.byteLength <= 32 * MiB);
  });

  test("a WebAssembly.Memory (not shared): grown with Memory.grow; heap.buffer follows it", () => {
    const mem = new WebAssembly.Memory({ initial: 16, maximum: 512 });
    const first = mem.buffer;
    const heap = createHeap({ buffer: mem, maxBytes: 32 * MiB });
    assert.equal(heap.buffer, mem.buffer);
    const growths = exercise(heap, { maxBytes: 32 * MiB, targetBytes: 14 * MiB, seed: 7 });
    assert.ok(growths > 0);
    assert.equal(heap.buffer, mem.buffer, "heap.buffer is the memory's current buffer");
    assert.equal(heap.u8.buffer, mem.buffer);
    assert.equal(first.byteLength, 0, "growing a non-shared memory detached its first buffer");
    assert.ok(mem.buffer.byteLength <= 32 * MiB);
  });

  test("a WebAssembly.Memory up to 4 GiB, without maxBytes", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: 65536 });
    const heap = createHeap({ buffer: mem });
    exercise(heap, { maxBytes: 2 ** 32, targetBytes: 6 * MiB, seed: 8 });
    assert.equal(heap.buffer, mem.buffer);
  });

  test("a shared WebAssembly.Memory", () => {
    const mem = new WebAssembly.Memory({ initial: 16, maximum: 512, shared: true });
    const heap = createHeap({ buffer: mem, maxBytes: 32 * MiB });
    assert.ok(heap.buffer instanceof SharedArrayBuffer);
    const growths = exercise(heap, { maxBytes: 32 * MiB, targetBytes: 14 * MiB, seed: 9 });
    assert.ok(growths > 0);
    assert.equal(heap.buffer.byteLength, mem.buffer.byteLength, "heap.buffer has the memory's current length");
    // A block written through the heap reads the same through the memory's own buffer.
    const p = heap.malloc(1000);
    fillPattern(heap.u8, p, 1000, 77);
    assertPattern(new Uint8Array(mem.buffer), p, 1000, 77);
  });

  for (const shared of [false, true]) {
    test(`a WebAssembly.Memory (${shared ? "shared" : "not shared"}) grown by someone else: every call picks it up`, () => {
      // As when a wasm module's memory.grow or emscripten_resize_heap grows the memory the heap lives
      // in: a non-shared memory detaches the buffer the heap's views were made over.
      const mem = new WebAssembly.Memory({ initial: 64, maximum: 1024, shared });
      const heap = createHeap({ buffer: mem, base: 65536, maxBytes: 32 * MiB });
      const calls: [string, () => void][] = [
        ["malloc", () => { const p = heap.malloc(100); assert.notEqual(p, 0); fillPattern(heap.u8, p, 100, 5); heap.free(p); }],
        ["malloc(mid)", () => { const p = heap.malloc(20000); assert.notEqual(p, 0); heap.free(p); }],
        ["malloc(large)", () => { const p = heap.malloc(200000); assert.notEqual(p, 0); heap.free(p); }],
        ["free", () => { /* below: a block from before the growth */ }],
        ["calloc", () => { const p = heap.calloc(10, 10); assert.notEqual(p, 0); heap.free(p); }],
        ["stats", () => { assert.ok(heap.stats().liveBlocks >= 1); }],
        ["check", () => { assert.deepEqual(heap.check().problems, []); }],
        ["walk", () => { let n = 0; heap.walk(() => n++); assert.ok(n >= 1); }],
        ["usableSize", () => { const p = heap.malloc(24); assert.ok(heap.usableSize(p) >= 24); heap.free(p); }],
        ["view", () => { const p = heap.malloc(64); heap.view(Float64Array, p, 8).fill(1.5); heap.free(p); }],
      ];
      for (const [name, call] of calls) {
        const kept = heap.malloc(300);
        fillPattern(heap.u8, kept, 300, 9);
        mem.grow(4);
        if (!shared) assert.equal(heap.u8.buffer, mem.buffer, `after ${name}'s growth heap.u8 is over the new buffer`);
        call();
        assertPattern(heap.u8, kept, 300, 9);
        heap.free(kept);
      }
      assert.deepEqual(heap.check().problems, []);
      assert.equal(heap.stats().liveBlocks, 0);
    });
  }

  test("a buffer holding data: createHeap zeroes nothing but its own metadata", () => {
    // A heap over a buffer that was full of garbage still hands out working blocks and valid stats.
    const buf = new ArrayBuffer(8 * MiB);
    new Uint8Array(buf).fill(0xcd);
    const heap = createHeap({ buffer: buf });
    const s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.deepEqual(s.classes, []);
    // The data pages were left as they were (the heap does not zero memory it hands out).
    const u8 = new Uint8Array(buf);
    assert.equal(u8[s.metadataBytes + s.tableBytes + 12345], 0xcd);
    exercise(heap, { maxBytes: 8 * MiB, targetBytes: 6 * MiB, seed: 10 });
  });
});

/** Fills [from, to) of `u8` with the pattern of `id` (in chunks: the pattern is position-based). */
function fillOutside(u8: Uint8Array, from: number, to: number, id: number): void {
  fillPattern(u8, from, to - from, id);
}

function assertOutsideIntact(u8: Uint8Array, from: number, to: number, id: number, what: string): void {
  const k = findPatternMismatch(u8, from, to - from, id);
  assert.equal(k, -1, `${what}: byte ${from + k} was overwritten`);
}

/**
 * Heavy use of a heap in a region: rounds of random malloc / calloc / realloc / alignedAlloc /
 * free until exhaustion, some bad frees (interior pointers), verification, freeing, and a reset.
 */
function hammer(heap: Heap, base: number, maxBytes: number, seed: number): void {
  const r = rng(seed);
  let id = 0;
  for (let round = 0; round < 4; round++) {
    const live = new Map<number, Block>();
    let zeros = 0;
    for (let step = 0; step < 600 && zeros < 12; step++) {
      const op = r();
      if (op < 0.45) {
        const n = randomSize(r, 3 * MiB);
        const p = heap.malloc(n);
        if (p === 0) {
          zeros++;
          continue;
        }
        fillPattern(heap.u8, p, n, ++id);
        live.set(p, { p, n, id });
      } else if (op < 0.55) {
        const count = Math.floor(r() * 64);
        const size = Math.floor(r() * 9000);
        const p = heap.calloc(count, size);
        if (p === 0) {
          zeros++;
          continue;
        }
        fillPattern(heap.u8, p, count * size, ++id);
        live.set(p, { p, n: count * size, id });
      } else if (op < 0.65) {
        const alignment = 2 ** Math.floor(r() * 21);
        const n = randomSize(r, MiB);
        const p = heap.alignedAlloc(alignment, n);
        if (p === 0) {
          zeros++;
          continue;
        }
        assert.equal(p % alignment, 0);
        fillPattern(heap.u8, p, n, ++id);
        live.set(p, { p, n, id });
      } else if (op < 0.75 && live.size > 0) {
        const b = [...live.values()][Math.floor(r() * live.size)]!;
        const n = randomSize(r, 3 * MiB);
        assertPattern(heap.u8, b.p, b.n, b.id);
        const q = heap.realloc(b.p, n);
        if (q === 0) {
          zeros++;
          assertPattern(heap.u8, b.p, b.n, b.id, "block after a failed realloc");
          continue;
        }
        assertPattern(heap.u8, q, Math.min(b.n, n), b.id, "block after realloc");
        live.delete(b.p);
        fillPattern(heap.u8, q, n, ++id);
        live.set(q, { p: q, n, id });
      } else if (live.size > 0) {
        const b = [...live.values()][Math.floor(r() * live.size)]!;
        if (r() < 0.1 && heap.usableSize(b.p) > 8) {
          // A programming error: a pointer inside the block (past an 8-byte block, p + 8 is the
          // next block's start). It must throw and change nothing.
          assert.throws(() => heap.free(b.p + 8), RangeError);
        }
        assertPattern(heap.u8, b.p, b.n, b.id);
        heap.free(b.p);
        live.delete(b.p);
      }
    }
    assertInside(heap, live.values(), base, maxBytes);
    const u8 = heap.u8;
    for (const b of live.values()) assertPattern(u8, b.p, b.n, b.id);
    if (round % 2 === 0) {
      for (const b of live.values()) heap.free(b.p);
    } else {
      heap.reset();
    }
    const s = heap.stats();
    assert.equal(s.liveBlocks, 0);
    assert.equal(s.liveBytes, 0);
  }
}

describe("a region of a buffer that holds other data", () => {
  test("fixed ArrayBuffer: the bytes before base and after the region are untouched", () => {
    const buf = new ArrayBuffer(16 * MiB);
    const u8 = new Uint8Array(buf);
    const base = MiB + 48; // a multiple of 16, not of the page size
    const maxBytes = 8 * MiB;
    const end = base + maxBytes;
    fillOutside(u8, 0, base, 1001);
    fillOutside(u8, end, buf.byteLength, 1002);
    const heap = createHeap({ buffer: buf, base, maxBytes });
    const s = heap.stats();
    assert.ok(s.mappedBytes <= maxBytes);
    assert.ok(base + s.metadataBytes >= base + 256, "the metadata lies after base");
    assert.equal((base + s.metadataBytes) % PAGE_SIZE, 0, "data pages are page-aligned in the buffer");
    hammer(heap, base, maxBytes, 11);
    assertOutsideIntact(u8, 0, base, 1001, "before base");
    assertOutsideIntact(u8, end, buf.byteLength, 1002, "after the region");
  });

  test("growable SharedArrayBuffer: the heap grows the buffer no further than its region", () => {
    const buf = new SharedArrayBuffer(4 * MiB, { maxByteLength: 64 * MiB });
    const u8 = () => new Uint8Array(buf, 0, buf.byteLength);
    const base = 2 * MiB + 16;
    const maxBytes = 24 * MiB;
    fillOutside(u8(), 0, base, 1003);
    const heap = createHeap({ buffer: buf, base, maxBytes });
    hammer(heap, base, maxBytes, 12);
    assert.ok(buf.byteLength <= base + maxBytes, `the buffer grew to ${buf.byteLength}, past the region's end ${base + maxBytes}`);
    assertOutsideIntact(u8(), 0, base, 1003, "before base");
  });

  test("WebAssembly.Memory: a module's data below base and a tail after the region are untouched", () => {
    const mem = new WebAssembly.Memory({ initial: 640, maximum: 1024 }); // 40 MiB, up to 64 MiB
    const base = MiB + 16;
    const maxBytes = 32 * MiB;
    const end = base + maxBytes;
    fillOutside(new Uint8Array(mem.buffer), 0, base, 1004);
    fillOutside(new Uint8Array(mem.buffer), end, mem.buffer.byteLength, 1005);
    const heap = createHeap({ buffer: mem, base, maxBytes });
    hammer(heap, base, maxBytes, 13);
    assert.equal(mem.buffer.byteLength, 40 * MiB, "the memory did not grow: the region fits in it");
    assertOutsideIntact(new Uint8Array(mem.buffer), 0, base, 1004, "before base");
    assertOutsideIntact(new Uint8Array(mem.buffer), end, mem.buffer.byteLength, 1005, "after the region");
  });

  // Bytes before base hold other data. After reset() the page entries of a released run's
  // inner pages must still never lead the heap to read or write memory outside its region.
  const prefixes: Array<[string, (u8: Uint8Array) => void]> = [
    ["0x5a everywhere", (u8) => u8.fill(0x5a)],
    ["zeros", (u8) => u8.fill(0)],
    [
      "zeros but two int32 words: 1e9 at byte 24 and 1 at byte 36",
      (u8) => {
        u8.fill(0);
        const w = new Int32Array(u8.buffer, u8.byteOffset, 16);
        w[6] = 1e9;
        w[9] = 1;
      },
    ],
  ];
  for (const [label, fill] of prefixes) {
    test(`after reset(), a stale pointer into a released page throws and writes nothing outside the region (prefix: ${label})`, () => {
      const buf = new ArrayBuffer(8 * MiB);
      const base = MiB;
      fill(new Uint8Array(buf, 0, base));
      const prefix = new Uint8Array(buf, 0, base).slice();
      const heap = createHeap({ buffer: buf, base, maxBytes: 4 * MiB });
      const a = heap.malloc(100);
      const b = heap.malloc(600 * KiB); // a large block: pages after the first
      heap.reset();
      const stale = [a, b, b + PAGE_SIZE, b + 4 * PAGE_SIZE];
      for (const p of stale) {
        assert.throws(() => heap.usableSize(p), RangeError, `usableSize(${p}) after reset`);
        assert.throws(() => heap.free(p), RangeError, `free(${p}) after reset`);
        assert.throws(() => heap.realloc(p, 10), RangeError, `realloc(${p}, 10) after reset`);
      }
      const now = new Uint8Array(buf, 0, base);
      for (let i = 0; i < base; i++) {
        if (now[i] !== prefix[i]) assert.fail(`byte ${i}, before base, was overwritten: ${prefix[i]} -> ${now[i]}`);
      }
      assert.equal(heap.stats().liveBlocks, 0);
    });
  }
});

describe("pointers at and above 2^31", () => {
  // A growable SharedArrayBuffer reserves its maximum up front and commits pages lazily, so a
  // region high in the 4 GiB pointer range costs little real memory.
  test("a region starting just past 2 GiB: pointers >= 2^31 work everywhere", () => {
    const buf = new SharedArrayBuffer(0, { maxByteLength: 2 ** 32 - PAGE_SIZE });
    const base = 2 ** 31 + 16;
    const maxBytes = 64 * MiB;
    const heap = createHeap({ buffer: buf, base, maxBytes });
    hammer(heap, base, maxBytes, 14);
    const p = heap.malloc(100);
    assert.ok(p > 2 ** 31);
    assert.throws(() => heap.free(p + 8), (e: unknown) => e instanceof RangeError && e.message.includes(String(p + 8)));
    heap.free(p);
  });

  test("a region that ends at the top of the pointer range (2^32 - 64 KiB)", () => {
    const buf = new SharedArrayBuffer(0, { maxByteLength: 2 ** 32 - PAGE_SIZE });
    const maxBytes = 64 * MiB;
    const base = 2 ** 32 - PAGE_SIZE - maxBytes;
    const heap = createHeap({ buffer: buf, base, maxBytes });
    hammer(heap, base, maxBytes, 15);
    // Fill it completely with large blocks: the last one ends exactly at the region's end.
    const ptrs: number[] = [];
    for (let p = heap.malloc(MiB); p !== 0; p = heap.malloc(MiB)) ptrs.push(p);
    const last = Math.max(...ptrs);
    assert.ok(last + heap.usableSize(last) <= 2 ** 32 - PAGE_SIZE);
    fillPattern(heap.u8, last, MiB, 5);
    assertPattern(heap.u8, last, MiB, 5);
    for (const p of ptrs) heap.free(p);
    assert.equal(heap.stats().liveBlocks, 0);
  });
});

describe("createHeap options", () => {
  const bad: Array<[string, unknown, typeof TypeError | typeof RangeError, RegExp]> = [
    ["options not an object", 42, TypeError, /42/],
    ["an unknown option", { maxbytes: 1 }, TypeError, /maxbytes/],
    ["base not a multiple of 16", { base: 8 }, RangeError, /8/],
    ["base negative", { base: -16 }, RangeError, /-16/],
    ["base a string", { base: "16" }, TypeError, /"16"/],
    ["maxBytes fractional", { maxBytes: 1.5 }, RangeError, /1\.5/],
    ["segmentBytes not a power of two", { segmentBytes: 3 * MiB }, RangeError, /3145728/],
    ["segmentBytes below 16 KiB", { segmentBytes: 8192 }, RangeError, /8192/],
    ["segmentBytes above 256 MiB", { segmentBytes: 512 * MiB }, RangeError, /536870912/],
    ["shared not a boolean", { shared: 1 }, TypeError, /1/],
    ["buffer not a buffer", { buffer: new Uint8Array(16) }, TypeError, /buffer/],
    ["a buffer too small for the metadata and three pages", { buffer: new ArrayBuffer(24 * KiB) }, RangeError, /24576.*pages/],
    ["base past the end of the buffer", { buffer: new ArrayBuffer(MiB), base: 2 * MiB }, RangeError, /2097152/],
    ["maxBytes too small for the metadata and three pages", { maxBytes: 24 * KiB }, RangeError, /24576.*pages/],
  ];
  for (const [label, options, type, shown] of bad) {
    test(`${label} → ${type.name}`, () => {
      assert.throws(() => createHeap(options as HeapOptions), (e: unknown) => {
        assert.ok(e instanceof type, `threw ${String(e)}`);
        assert.match(e.message, shown);
        return true;
      });
    });
  }

  test("a given buffer is left unchanged when createHeap rejects it", () => {
    const buf = new ArrayBuffer(24 * KiB);
    new Uint8Array(buf).fill(7);
    assert.throws(() => createHeap({ buffer: buf }), RangeError);
    assert.ok(new Uint8Array(buf).every((x) => x === 7));
  });
});
