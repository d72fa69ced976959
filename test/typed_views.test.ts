/**
 * Typed arrays and strings in blocks: mallocAs, callocAs, reallocAs, freeView, allocString and
 * readString, on every kind of heap (growable SharedArrayBuffer, resizable ArrayBuffer,
 * WebAssembly.Memory, checked mode):
 * - every typed-array type at lengths across the size classes and into large blocks: the view's
 *   type, length and buffer, alignment for its element type (16 from 16 bytes up), no overlap
 *   (patterns verified after all are allocated), length fixed across growth;
 * - callocAs zeroes memory left dirty by earlier blocks; reallocAs keeps the contents when
 *   growing and shrinking, in place and moved; reallocAs(view, 0) keeps a block;
 * - exhaustion: null from each call, the heap unchanged, the old view intact after a failed
 *   reallocAs, the same number of views fits again after freeing;
 * - bad input: errors naming the type and length (or the view), the heap unchanged; freeView of
 *   foreign views (another heap's buffer at a live offset of this one, another buffer, a
 *   subarray, a DataView, byte 0, a freed block; a double free in checked mode); views detached
 *   by a non-shared WebAssembly.Memory's growth; views over the earlier buffer objects of a
 *   shared one, which stay valid;
 * - strings: UTF-8 round trips (also unpaired surrogates, a BOM, random code units), exact
 *   byte lengths, reading after a WebAssembly.Memory was grown by someone else.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHeap, HeapCorruptionError, MID_MAX, type Heap, type HeapOptions, type TypedArray, type TypedArrayConstructor } from "../src/index.js";
import { assertPattern, fillPattern, findNonZero } from "./patterns.js";

const MiB = 1 << 20;

const TYPES: TypedArrayConstructor<TypedArray>[] = [
  Int8Array, Uint8Array, Uint8ClampedArray, Int16Array, Uint16Array, Int32Array, Uint32Array,
  Float32Array, Float64Array, BigInt64Array, BigUint64Array,
];

/** Element counts across the small and mid classes and into large blocks, for `bpe`-byte elements. */
function lengthsFor(bpe: number): number[] {
  const bytes = [0, 1, 2, 7, 8, 9, 15, 16, 17, 24, 100, 1000, 1024, 5000, MID_MAX, MID_MAX + 8, 300_000];
  return [...new Set(bytes.map((b) => Math.ceil(b / bpe)))];
}

const HEAPS: Array<[string, () => Heap]> = [
  ["growable SharedArrayBuffer", () => createHeap({ maxBytes: 64 * MiB })],
  ["resizable ArrayBuffer", () => createHeap({ maxBytes: 64 * MiB, shared: false })],
  ["WebAssembly.Memory", () => createHeap({ buffer: new WebAssembly.Memory({ initial: 32, maximum: 1024 }) })],
  ["checked mode", () => createHeap({ maxBytes: 64 * MiB, check: true })],
];

/** A fixed 8 MiB ArrayBuffer, for exhaustion. */
function smallHeap(options: HeapOptions = {}): Heap {
  return createHeap({ buffer: new ArrayBuffer(8 * MiB), ...options });
}

describe("mallocAs", () => {
  for (const [kind, make] of HEAPS) {
    test(`${kind}: every typed-array type, lengths up to large blocks: type, length, alignment, no overlap`, () => {
      const heap = make();
      // Pointers and lengths, not the views: a WebAssembly.Memory's growth detaches earlier views.
      const blocks: Array<[TypedArrayConstructor<TypedArray>, number, number]> = [];
      for (const T of TYPES) {
        for (const n of lengthsFor(T.BYTES_PER_ELEMENT)) {
          const v = heap.mallocAs(T, n);
          assert.ok(v !== null, `mallocAs(${T.name}, ${n}) returned null`);
          assert.ok(v instanceof T, `mallocAs(${T.name}, ${n}) gave a ${v.constructor.name}`);
          assert.equal(v.length, n);
          assert.equal(v.byteLength, n * T.BYTES_PER_ELEMENT);
          assert.equal(v.buffer, heap.buffer, `mallocAs(${T.name}, ${n}) is over heap.buffer`);
          assert.ok(v.byteOffset > 0);
          assert.equal(v.byteOffset % 8, 0, `mallocAs(${T.name}, ${n}) at ${v.byteOffset}: 8-byte aligned`);
          if (v.byteLength >= 16) assert.equal(v.byteOffset % 16, 0, `mallocAs(${T.name}, ${n}) at ${v.byteOffset}: 16-byte aligned`);
          assert.ok(heap.usableSize(v.byteOffset) >= v.byteLength);
          blocks.push([T, v.byteOffset, n]);
        }
      }
      // Distinct blocks, each other's bytes untouched: fill all, then verify all.
      blocks.forEach(([T, p, n], id) => fillPattern(heap.u8, p, n * T.BYTES_PER_ELEMENT, id));
      // Element writes land where the element type says: the last element through the view,
      // read back through a DataView.
      const probe = heap.mallocAs(Float64Array, 3)!;
      probe[2] = 1.5;
      assert.equal(new DataView(heap.buffer, probe.byteOffset + 16, 8).getFloat64(0, true), 1.5);
      blocks.forEach(([T, p, n], id) => assertPattern(heap.u8, p, n * T.BYTES_PER_ELEMENT, id, `${T.name}(${n})`));
      for (const [T, p, n] of blocks) heap.freeView(heap.view(T, p, n));
      heap.freeView(probe);
      assert.equal(heap.stats().liveBlocks, 0);
      assert.deepEqual(heap.check().problems, []);
    });
  }

  test("views are length-fixed: their length stays when the heap's buffer grows", () => {
    for (const shared of [true, false]) {
      const heap = createHeap({ maxBytes: 256 * MiB, shared });
      const v = heap.mallocAs(Float32Array, 100)!;
      const before = heap.buffer.byteLength;
      const big = heap.mallocAs(Uint8Array, 64 * MiB)!; // forces growth
      assert.ok(heap.buffer.byteLength > before, "the buffer grew");
      assert.equal(v.length, 100);
      assert.equal(big.length, 64 * MiB);
      heap.freeView(big);
      heap.freeView(v);
    }
  });

  test("the inferred type is the constructor's array type", () => {
    const heap = createHeap();
    const v: Float64Array | null = heap.mallocAs(Float64Array, 4);
    const b: BigInt64Array | null = heap.callocAs(BigInt64Array, 4);
    const r: Float64Array | null = heap.reallocAs(v!, 8);
    heap.freeView(r);
    heap.freeView(b);
    assert.equal(heap.stats().liveBlocks, 0);
  });
});

describe("callocAs", () => {
  for (const [kind, make] of HEAPS) {
    test(`${kind}: every type comes zeroed over memory left dirty by freed blocks`, () => {
      const heap = make();
      for (const T of TYPES) {
        for (const n of lengthsFor(T.BYTES_PER_ELEMENT)) {
          // Dirty a block of the same size, free it, and take it (or another) back with callocAs.
          const dirty = heap.mallocAs(Uint8Array, n * T.BYTES_PER_ELEMENT)!;
          dirty.fill(0xff);
          heap.freeView(dirty);
          const v = heap.callocAs(T, n)!;
          assert.ok(v instanceof T && v.length === n);
          assert.equal(findNonZero(heap.u8, v.byteOffset, v.byteLength), -1, `callocAs(${T.name}, ${n}) is all zeros`);
          if (n > 0) assert.ok(v[0] === 0 || v[0] === 0n);
          heap.freeView(v);
        }
      }
      assert.equal(heap.stats().liveBlocks, 0);
    });
  }
});

describe("reallocAs", () => {
  for (const [kind, make] of HEAPS) {
    test(`${kind}: growing and shrinking keeps the elements up to the smaller length, for every type`, () => {
      const heap = make();
      let id = 0;
      for (const T of TYPES) {
        const bpe = T.BYTES_PER_ELEMENT;
        // Through in-place growth, moves to larger classes, a large block, and back down.
        const steps = [3, 4, 40, 500, Math.ceil((MID_MAX + 100) / bpe), Math.ceil(400_000 / bpe), 1000, 5, 1];
        let v = heap.mallocAs(T, 2)!;
        let n = 2;
        fillPattern(heap.u8, v.byteOffset, v.byteLength, ++id);
        for (const m of steps) {
          const w = heap.reallocAs(v, m);
          assert.ok(w !== null, `reallocAs(${T.name}(${n}), ${m}) returned null`);
          assert.ok(w instanceof T, `reallocAs gave a ${w.constructor.name}`);
          assert.equal(w.length, m);
          assert.equal(w.buffer, heap.buffer);
          assert.equal(w.byteOffset % (w.byteLength >= 16 ? 16 : 8), 0, `reallocAs(${T.name}, ${m}) aligned`);
          assertPattern(heap.u8, w.byteOffset, Math.min(n, m) * bpe, id, `${T.name} after reallocAs(${n} → ${m})`);
          fillPattern(heap.u8, w.byteOffset, w.byteLength, ++id);
          v = w;
          n = m;
        }
        heap.freeView(v);
      }
      assert.equal(heap.stats().liveBlocks, 0);
      assert.deepEqual(heap.check().problems, []);
    });
  }

  test("reallocAs(view, 0) gives an empty view over a live block, which freeView frees", () => {
    const heap = createHeap();
    const v = heap.mallocAs(Int32Array, 100)!;
    const e = heap.reallocAs(v, 0);
    assert.ok(e instanceof Int32Array);
    assert.equal(e.length, 0);
    assert.equal(heap.stats().liveBlocks, 1);
    assert.ok(heap.usableSize(e.byteOffset) >= 0); // a live block: no throw
    heap.freeView(e);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("a view made with heap.view at a block's start can be resized and freed", () => {
    const heap = createHeap();
    const p = heap.calloc(16, 4);
    const v = heap.view(Uint32Array, p, 16);
    v[15] = 7;
    const w = heap.reallocAs(v, 1000)!;
    assert.equal(w[15], 7);
    heap.freeView(w);
    assert.equal(heap.stats().liveBlocks, 0);
  });
});

describe("exhaustion", () => {
  test("mallocAs, callocAs and allocString return null and leave the heap as it was", () => {
    const heap = smallHeap();
    const keep = heap.mallocAs(Uint8Array, 100)!;
    const before = heap.stats();
    assert.equal(heap.mallocAs(Float64Array, 2 * MiB), null);
    assert.equal(heap.callocAs(BigInt64Array, 2 * MiB), null);
    assert.equal(heap.allocString("x".repeat(16 * MiB)), null);
    assert.deepEqual(heap.stats(), before);
    heap.freeView(keep);
  });

  test("a failed reallocAs returns null and leaves the view and its block intact", () => {
    const heap = smallHeap();
    const v = heap.mallocAs(Float64Array, 1000)!;
    fillPattern(heap.u8, v.byteOffset, v.byteLength, 1);
    const before = heap.stats();
    assert.equal(heap.reallocAs(v, 2 * MiB), null);
    assert.deepEqual(heap.stats(), before);
    assertPattern(heap.u8, v.byteOffset, v.byteLength, 1);
    heap.freeView(v);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  for (const check of [false, true]) {
    test(`filling the heap with views until null, three rounds: the same count fits each time${check ? " (checked mode)" : ""}`, () => {
      const heap = smallHeap({ check });
      let first = -1;
      for (let round = 0; round < 3; round++) {
        const views: Float64Array[] = [];
        for (;;) {
          const v = round === 1 ? heap.callocAs(Float64Array, 1000) : heap.mallocAs(Float64Array, 1000);
          if (v === null) break;
          v[0] = views.length;
          v[999] = -views.length;
          views.push(v);
        }
        assert.ok(views.length > 500, `only ${views.length} views of 8000 bytes fit in 8 MiB`);
        if (first < 0) first = views.length;
        assert.equal(views.length, first, `round ${round}`);
        views.forEach((v, i) => assert.ok(v[0] === i && v[999] === -i, `view ${i} kept its elements`));
        // Free in a different order each round.
        const order = round === 2 ? views.reverse() : views;
        for (const v of order) heap.freeView(v);
        assert.equal(heap.stats().liveBlocks, 0);
      }
    });
  }
});

describe("bad input", () => {
  test("mallocAs / callocAs: errors name the type and the length; the heap is unchanged", () => {
    const heap = createHeap();
    const before = heap.stats();
    const cases: Array<[() => unknown, RegExp, typeof TypeError | typeof RangeError]> = [
      [() => heap.mallocAs(Float64Array, -1), /mallocAs\(Float64Array, -1\).*non-negative safe integer, got -1/, RangeError],
      [() => heap.mallocAs(Int16Array, 1.5), /mallocAs\(Int16Array, 1\.5\)/, RangeError],
      [() => heap.mallocAs(Uint8Array, NaN), /mallocAs\(Uint8Array, NaN\)/, RangeError],
      [() => heap.mallocAs(Uint8Array, "8" as unknown as number), /mallocAs\(Uint8Array, "8"\).*number of elements/, TypeError],
      [() => heap.mallocAs(Float64Array, 2 ** 29), /mallocAs\(Float64Array, 536870912\).*4294967296 bytes overflows 2\^32 − 1/, RangeError],
      [() => heap.callocAs(BigInt64Array, 2 ** 30), /callocAs\(BigInt64Array, 1073741824\).*overflows/, RangeError],
      [() => heap.callocAs(Float32Array, -3), /callocAs\(Float32Array, -3\)/, RangeError],
      [() => heap.mallocAs(Array as unknown as TypedArrayConstructor<Uint8Array>, 3), /mallocAs\(type, length\): type must be a typed-array constructor.*got the function Array/, TypeError],
      [() => heap.mallocAs(DataView as unknown as TypedArrayConstructor<Uint8Array>, 3), /typed-array constructor/, TypeError],
      [() => heap.callocAs(undefined as unknown as TypedArrayConstructor<Uint8Array>, 3), /callocAs\(type, length\): .*got undefined/, TypeError],
    ];
    for (const [call, message, E] of cases) assert.throws(call, (e: Error) => e instanceof E && message.test(e.message), String(call));
    assert.deepEqual(heap.stats(), before);
  });

  test("a typed-array subclass is accepted, and its views are of the subclass", () => {
    class Vec extends Float32Array {}
    const heap = createHeap();
    const v = heap.mallocAs(Vec, 3)!;
    assert.ok(v instanceof Vec);
    const w = heap.reallocAs(v, 30)!;
    assert.ok(w instanceof Vec);
    heap.freeView(w);
  });

  test("reallocAs: a bad length or view names the view; the heap is unchanged", () => {
    const heap = createHeap();
    const v = heap.mallocAs(Float32Array, 4)!;
    const before = heap.stats();
    assert.throws(() => heap.reallocAs(v, -1), (e: Error) => e instanceof RangeError && /reallocAs\(Float32Array\(4\) at 0x[0-9a-f]+ \(\d+\), -1\)/.test(e.message));
    assert.throws(() => heap.reallocAs(v, 2 ** 30), /reallocAs\(Float32Array\(4\) at .*, 1073741824\).*overflows/);
    assert.throws(() => heap.reallocAs(v.subarray(1), 8), (e: Error) => e instanceof RangeError && /reallocAs\(Float32Array\(3\) at .*interior pointer/.test(e.message));
    assert.throws(() => heap.reallocAs(new Float32Array(4), 8), (e: Error) => e instanceof RangeError && /not over this heap's buffer/.test(e.message));
    assert.throws(() => heap.reallocAs([1, 2] as unknown as Float32Array, 8), TypeError);
    assert.deepEqual(heap.stats(), before);
    heap.freeView(v);
  });

  test("freeView of foreign views throws naming the view and frees nothing", () => {
    // Two heaps laid out alike: the other heap's view sits at an offset where this heap has a
    // live block too, so only the buffer tells them apart.
    const heap = createHeap({ maxBytes: 16 * MiB });
    const other = createHeap({ maxBytes: 16 * MiB });
    const mine = heap.mallocAs(Float64Array, 8)!;
    const theirs = other.mallocAs(Float64Array, 8)!;
    assert.equal(theirs.byteOffset, mine.byteOffset, "the two heaps place their first block alike");
    const inner = heap.mallocAs(Uint8Array, 64)!;
    // A freed large block: its pages are free, which free() detects in any mode (a double free of
    // a small block is for checked mode, below).
    const freed = heap.mallocAs(Int32Array, 100_000)!;
    heap.freeView(freed);
    const before = heap.stats();
    const cases: Array<[unknown, RegExp, typeof TypeError | typeof RangeError]> = [
      [theirs, /freeView\(view\): the Float64Array\(8\) at 0x[0-9a-f]+ \(\d+\) is not over this heap's buffer/, RangeError],
      [new Float64Array(8), /Float64Array\(8\) at 0x0 \(0\) is not over this heap's buffer/, RangeError],
      // Over this heap's buffer, at an offset inside a block (made directly, not by subarray).
      [new Uint8Array(heap.buffer, inner.byteOffset + 16, 8), /Uint8Array\(8\) at .*\): the view does not start a live block: free\(.*interior pointer/, RangeError],
      [inner.subarray(8), /freeView\(Uint8Array\(56\) at .*\): the view does not start a live block: free\(.*interior pointer/, RangeError],
      [freed, /freeView\(Int32Array\(100000\) at .*\): the view does not start a live block: free\(.*no block of this heap starts there/, RangeError],
      [new Uint8Array(heap.buffer, 0, 16), /Uint8Array\(16\) at 0x0 \(0\) starts at byte 0, where no block of the heap can start/, RangeError],
      [new DataView(heap.buffer, mine.byteOffset, 8), /freeView\(view\): view must be a typed array.*got an object \(\[object DataView\]\)/, TypeError],
      [mine.byteOffset, /view must be a typed array.*got \d+/, TypeError],
      [[1, 2, 3], /view must be a typed array/, TypeError],
    ];
    for (const [view, message, E] of cases) {
      assert.throws(() => heap.freeView(view as TypedArray), (e: Error) => e instanceof E && message.test(e.message), `freeView(${String(view)}): ${message}`);
    }
    assert.deepEqual(heap.stats(), before, "nothing was freed");
    assert.deepEqual(heap.check().problems, []);
    heap.freeView(null); // as free(0)
    heap.freeView(mine);
    heap.freeView(inner);
    other.freeView(theirs);
    assert.equal(heap.stats().liveBlocks, 0);
    assert.equal(other.stats().liveBlocks, 0);
  });

  test("checked mode: a double freeView is a HeapCorruptionError naming the block", () => {
    const heap = createHeap({ check: true, maxBytes: 16 * MiB });
    const v = heap.mallocAs(Float64Array, 8)!;
    heap.mallocAs(Float64Array, 8); // keeps the page in use
    heap.freeView(v);
    assert.throws(() => heap.freeView(v), (e: Error) => e instanceof HeapCorruptionError && e.fault === "double-free");
  });

  test("over a non-shared WebAssembly.Memory, growth detaches earlier views: freeView says so; free(ptr) works", () => {
    const mem = new WebAssembly.Memory({ initial: 32, maximum: 2048 });
    const heap = createHeap({ buffer: mem });
    const v = heap.mallocAs(Float64Array, 16)!;
    const ptr = v.byteOffset;
    const big = heap.mallocAs(Uint8Array, 8 * MiB)!; // grows the memory
    assert.equal(v.length, 0, "the old view is detached");
    assert.throws(() => heap.freeView(v), (e: Error) => e instanceof RangeError && /freeView\(view\): the Float64Array is detached: the heap's WebAssembly.Memory grew/.test(e.message));
    assert.throws(() => heap.reallocAs(v, 3), /is detached/);
    heap.free(ptr);
    heap.freeView(big);
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("over a shared WebAssembly.Memory, views made before growth stay valid and can be resized and freed", () => {
    const mem = new WebAssembly.Memory({ initial: 32, maximum: 2048, shared: true });
    const heap = createHeap({ buffer: mem });
    const v = heap.mallocAs(Float64Array, 16)!;
    v.fill(2.5);
    const w = heap.mallocAs(Int32Array, 4)!;
    const big = heap.mallocAs(Uint8Array, 8 * MiB)!; // grows the memory: a new buffer object
    assert.notEqual(v.buffer, heap.buffer, "the memory has a new buffer object");
    assert.equal(v.length, 16);
    const grown = heap.reallocAs(v, 4000)!;
    assert.equal(grown.buffer, heap.buffer);
    assert.ok(grown.subarray(0, 16).every((x) => x === 2.5));
    heap.freeView(w);
    heap.freeView(grown);
    heap.freeView(big);
    assert.equal(heap.stats().liveBlocks, 0);
    // A view over another shared memory is still refused.
    const other = new WebAssembly.Memory({ initial: 32, maximum: 64, shared: true });
    assert.throws(() => heap.freeView(new Float64Array(other.buffer, 1 << 20, 2)), /not over this heap's buffer/);
  });
});

describe("allocString / readString", () => {
  const encoder = new TextEncoder();
  const SAMPLES = ["", "a", "hello, world", "grüße", "日本語のテキスト", "😀 emoji 🎉", "\u0000nul\u0000", "\ufeffBOM first", "x".repeat(5000)];

  for (const [kind, make] of HEAPS) {
    test(`${kind}: round trips with exact UTF-8 byte lengths`, () => {
      const heap = make();
      const blocks = SAMPLES.map((s) => heap.allocString(s)!);
      SAMPLES.forEach((s, i) => {
        const b = blocks[i]!;
        const bytes = encoder.encode(s);
        assert.equal(b.len, bytes.length, `byte length of ${JSON.stringify(s.slice(0, 20))}`);
        assert.deepEqual(heap.u8.slice(b.ptr, b.ptr + b.len), bytes);
        assert.equal(heap.readString(b.ptr, b.len), s);
      });
      for (const b of blocks) heap.free(b.ptr);
      assert.equal(heap.stats().liveBlocks, 0);
    });
  }

  test("unpaired surrogates become U+FFFD, as TextEncoder writes them; random code units agree with TextEncoder", () => {
    const heap = createHeap();
    for (const [s, expected] of [["\ud800", "\ufffd"], ["a\udc00b", "a\ufffdb"], ["\ud83d\ud83d\ude00", "\ufffd😀"], ["\ude00\ud83d", "\ufffd\ufffd"]] as const) {
      const b = heap.allocString(s)!;
      assert.equal(b.len, encoder.encode(s).length);
      assert.equal(heap.readString(b.ptr, b.len), expected);
      heap.free(b.ptr);
    }
    // Random UTF-16 code units, weighted towards the ranges where the byte count changes.
    let seed = 12345;
    const rand = (n: number): number => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 8) % n;
    const ranges = [0x80, 0x800, 0xd800, 0xdc00, 0xe000, 0x10000];
    for (let i = 0; i < 2000; i++) {
      let s = "";
      for (let k = rand(20); k > 0; k--) {
        const r = rand(ranges.length);
        const lo = r === 0 ? 0 : ranges[r - 1]!;
        s += String.fromCharCode(lo + rand(ranges[r]! - lo));
      }
      const b = heap.allocString(s)!;
      const bytes = encoder.encode(s);
      assert.equal(b.len, bytes.length, `length of ${JSON.stringify(s)}`);
      assert.deepEqual(heap.u8.slice(b.ptr, b.ptr + b.len), bytes);
      assert.equal(heap.readString(b.ptr, b.len), new TextDecoder("utf-8", { ignoreBOM: true }).decode(bytes));
      heap.free(b.ptr);
    }
    assert.equal(heap.stats().liveBlocks, 0);
  });

  test("readString reads bytes anywhere in the buffer; invalid UTF-8 becomes U+FFFD", () => {
    const heap = createHeap();
    const v = heap.mallocAs(Uint8Array, 4)!;
    v.set([0x68, 0xff, 0x69, 0xc3]);
    assert.equal(heap.readString(v.byteOffset, 4), "h\ufffdi\ufffd");
    assert.equal(heap.readString(0, 0), "");
    heap.freeView(v);
  });

  test("readString after a non-shared WebAssembly.Memory was grown by someone else (as wasm code does)", () => {
    const mem = new WebAssembly.Memory({ initial: 32, maximum: 1024 });
    const heap = createHeap({ buffer: mem });
    const b = heap.allocString("before growth")!;
    mem.grow(4); // detaches the buffer the heap's views were over
    assert.equal(heap.readString(b.ptr, b.len), "before growth");
    const c = heap.allocString("after growth")!;
    assert.equal(heap.readString(c.ptr, c.len), "after growth");
    heap.free(b.ptr);
    heap.free(c.ptr);
  });

  test("bad input: errors name the call and the value", () => {
    const heap = createHeap();
    const end = heap.u8.length;
    assert.throws(() => heap.allocString(42 as unknown as string), (e: Error) => e instanceof TypeError && /allocString\(s\): s must be a string, got 42/.test(e.message));
    assert.throws(() => heap.readString(-1, 3), (e: Error) => e instanceof RangeError && /readString\(-1, 3\): ptr must be a pointer/.test(e.message));
    assert.throws(() => heap.readString(16, -3), (e: Error) => e instanceof RangeError && /readString\(16, -3\): len must be a non-negative/.test(e.message));
    assert.throws(() => heap.readString(16, "3" as unknown as number), TypeError);
    assert.throws(() => heap.readString(end - 2, 3), (e: Error) => e instanceof RangeError && new RegExp(`run past the end of the heap's buffer \\(${end} bytes\\)`).test(e.message));
  });
});
