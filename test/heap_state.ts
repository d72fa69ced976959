/**
 * heap state — what stats() says of the blocks handed out and of the buffer, for tests that
 * assert a call changed no block (a failed malloc may still give back a worker's cached blocks
 * and empty pages, and retire a full current page, before it reports the heap full).
 */

import type { HeapStats } from "../src/index.js";

export function blocksOf(s: HeapStats): object {
  const { liveBlocks, liveBytes, largeBlocks, largeBytes, mappedBytes } = s;
  return { liveBlocks, liveBytes, largeBlocks, largeBytes, mappedBytes, classes: s.classes.filter((c) => c.liveBlocks > 0).map((c) => [c.size, c.liveBlocks]) };
}
