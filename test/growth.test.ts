/**
 * Growth: a heap that starts at one segment and is filled, with mixed sizes (small, mid and
 * large), until it has grown to at least 64 MiB — over the default growable SharedArrayBuffer,
 * a resizable ArrayBuffer (`shared: false`) and a WebAssembly.Memory. After every growth, every
 * live block still holds its pattern (through the heap's current views: a non-shared Memory
 * replaces its buffer when it grows), stats().growths has increased, and the blocks lie inside
 * the mapped data. Then everything is freed: liveBytes 0, at most two empty pages per size class
 * (current and spare) stay in use, and the cached segments are reused without growing again.
 */

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHeap, MID_MAX, PAGE_SIZE, type Heap } from "../src/index.js";
import { findPatternMismatch, fillPattern } from "./patterns.js";

const MiB = 1 << 20;
const TARGET = 64 * MiB;
const MAX = 128 * MiB;
/** Segments larger than MID_MAX, so that a segment-sized block is a large block (a run of pages). */
const SEGMENT = MiB;

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Block {
  p: number;
  n: number;
  id: number;
}

function verifyAll(heap: Heap, blocks: Block[], when: string): void {
  const u8 = heap.u8; // re-read: the buffer may have been replaced
  for (const b of blocks) {
    const k = findPatternMismatch(u8, b.p, b.n, b.id);
    if (k >= 0) assert.fail(`${when}: block #${b.id} at ${b.p} (${b.n} bytes) corrupt at byte ${k}`);
  }
}

function growToTarget(heap: Heap, seed: number): void {
  const r = rng(seed);
  const s0 = heap.stats();
  assert.equal(s0.mappedBytes - s0.metadataBytes, s0.segmentBytes, "the heap starts at one segment");
  const blocks: Block[] = [];
  let id = 0;
  let growths = s0.growths;
  let lastLength = heap.buffer.byteLength;
  let growthEvents = 0;
  while (heap.stats().mappedBytes < TARGET) {
    const x = r();
    const n =
      x < 0.8 ? Math.floor(r() * 1025) : x < 0.95 ? 1025 + Math.floor(r() * (MID_MAX - 1024)) : MID_MAX + 1 + Math.floor(r() * (2 * MiB));
    const p = heap.malloc(n);
    assert.notEqual(p, 0, `malloc(${n}) failed at ${heap.stats().mappedBytes} mapped bytes, below maxBytes`);
    assert.equal(p % (n >= 16 ? 16 : 8), 0);
    fillPattern(heap.u8, p, n, ++id);
    blocks.push({ p, n, id });
    // Free a few along the way so that growth happens with holes in the heap too.
    if (r() < 0.1) {
      const i = Math.floor(r() * blocks.length);
      heap.free(blocks[i]!.p);
      blocks[i] = blocks[blocks.length - 1]!;
      blocks.pop();
    }
    if (heap.buffer.byteLength !== lastLength) {
      growthEvents++;
      const s = heap.stats();
      assert.ok(s.growths > growths, `stats().growths went from ${growths} to ${s.growths} across a growth`);
      growths = s.growths;
      assert.ok(heap.buffer.byteLength > lastLength, "the buffer never shrinks");
      lastLength = heap.buffer.byteLength;
      assert.ok(s.mappedBytes <= heap.buffer.byteLength);
      assert.equal(heap.u8.byteLength, heap.buffer.byteLength, "heap.u8 covers the grown buffer");
      verifyAll(heap, blocks, `after growth ${growthEvents} (${s.mappedBytes} bytes mapped)`);
    }
  }
  const s = heap.stats();
  // Each growth maps at least a quarter more (an arena sized for the request, whole segments); a
  // WebAssembly.Memory grows by 64 KiB pages and may hold the next arena in its slack.
  assert.ok(growthEvents >= 5, `the heap grew ${growthEvents} times on its way to 64 MiB`);
  assert.ok(s.growths - s0.growths >= growthEvents);
  assert.ok(s.mappedBytes >= TARGET && s.mappedBytes <= MAX);
  assert.equal(s.liveBlocks, blocks.length);
  // Blocks lie inside the mapped data and do not overlap.
  const sorted = [...blocks].sort((a, b) => a.p - b.p);
  for (let i = 0; i < sorted.length; i++) {
    const b = sorted[i]!;
    const end = b.p + heap.usableSize(b.p);
    assert.ok(b.p >= s.metadataBytes && end <= s.mappedBytes, `block [${b.p}, ${end}) outside the data`);
    if (i + 1 < sorted.length) assert.ok(end <= sorted[i + 1]!.p, `block at ${b.p} overlaps the next`);
  }
  verifyAll(heap, blocks, "at the end");

  for (const b of blocks) heap.free(b.p);
  const e = heap.stats();
  assert.equal(e.liveBytes, 0);
  assert.equal(e.liveBlocks, 0);
  assert.equal(e.largeBlocks, 0);
  assert.equal(e.mappedBytes, s.mappedBytes, "freed memory stays mapped");
  // What stays in use after everything is freed: per size class the "current" page, a spare and
  // the pages of the blocks its thread cache keeps; no large block.
  for (const c of e.classes) {
    assert.equal(c.liveBlocks, 0);
    assert.ok(c.pages <= 2 + c.cachedBlocks, `class ${c.size} keeps ${c.pages} pages with no block in use (current, spare, cached blocks' at most)`);
  }
  assert.ok(e.heapBytes <= e.classes.length * 3 * MiB + 64 * PAGE_SIZE, "no more than three spans of 1 MiB per class, and the page tables");
  assert.ok(e.segmentsCached > 0, "segments with no page in use are kept, cached");

  // The cached segments are reused: each is a free run of a whole segment, so one block of a
  // segment's size per cached segment fits without growing the heap.
  const again: number[] = [];
  for (let i = 0; i < e.segmentsCached; i++) {
    const p = heap.malloc(e.segmentBytes);
    assert.notEqual(p, 0, `block ${i} of ${e.segmentsCached} segment-sized blocks`);
    again.push(p);
  }
  assert.equal(heap.stats().growths, e.growths, "reusing cached segments does not grow the heap");
  assert.equal(heap.stats().mappedBytes, e.mappedBytes);
  for (const p of again) heap.free(p);
  assert.equal(heap.stats().liveBytes, 0);
}

describe("growth from one segment to 64 MiB", () => {
  test("default: growable SharedArrayBuffer", () => {
    const heap = createHeap({ maxBytes: MAX, segmentBytes: SEGMENT });
    const buf = heap.buffer;
    growToTarget(heap, 101);
    assert.equal(heap.buffer, buf, "grown in place");
  });

  test("shared: false: resizable ArrayBuffer", () => {
    const heap = createHeap({ shared: false, maxBytes: MAX, segmentBytes: SEGMENT });
    const buf = heap.buffer;
    growToTarget(heap, 102);
    assert.equal(heap.buffer, buf, "resized in place");
  });

  test("WebAssembly.Memory", () => {
    const mem = new WebAssembly.Memory({ initial: 1, maximum: MAX / 65536 });
    const heap = createHeap({ buffer: mem, maxBytes: MAX, segmentBytes: SEGMENT });
    const first = heap.buffer;
    growToTarget(heap, 103);
    assert.equal(heap.buffer, mem.buffer, "heap.buffer follows Memory.grow");
    assert.notEqual(heap.buffer, first);
    assert.equal(first.byteLength, 0, "the first buffer was detached by the growth");
  });
});
