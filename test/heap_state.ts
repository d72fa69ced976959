/**
 * heap state — what stats() says of the blocks handed out and of the buffer: for tests that
 * assert a call changed no block (a failed malloc may still give back a worker's cached blocks
 * and empty pages, and retire a full current page, before it reports the heap full), and for
 * tests that assert the heap holds nothing once everything is freed.
 */

import assert from "node:assert/strict";
import type { Heap, HeapStats } from "../src/index.js";

export function blocksOf(s: HeapStats): object {
  const { liveBlocks, liveBytes, largeBlocks, largeBytes, mappedBytes } = s;
  return { liveBlocks, liveBytes, largeBlocks, largeBytes, mappedBytes, classes: s.classes.filter((c) => c.liveBlocks > 0).map((c) => [c.size, c.liveBlocks]) };
}

/** The heap holds no block, no page and no segment in use (after everything was freed and collected). */
export function assertEmpty(heap: Heap, what: string): void {
  const s = heap.stats();
  assert.deepEqual(
    { liveBlocks: s.liveBlocks, liveBytes: s.liveBytes, heapBytes: s.heapBytes, segmentsInUse: s.segmentsInUse },
    { liveBlocks: 0, liveBytes: 0, heapBytes: 0, segmentsInUse: 0 },
    `${what}: the heap should hold nothing (classes: ${JSON.stringify(s.classes)})`,
  );
}
