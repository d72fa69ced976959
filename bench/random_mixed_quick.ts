/**
 * random_mixed_quick — the example job (`npm run example`): hakmem on a short random_mixed
 * (ring of 4096 slots, 1,000,000 iterations of free + malloc of 16–1024 B + a one-byte write,
 * xorshift32 seeded 42; see workloads/random_mixed.ts), then its iterations/s and heap statistics.
 * One untimed warm-up pass first, so the figure is for optimized code.
 */

import { createHeap } from "../src/index.js";
import { umod } from "./lib/rand.js";

const W = 4096;
const N = 1_000_000;

function randomMixed(print: boolean): void {
  const heap = createHeap();
  const ring = new Uint32Array(W);
  let x = 42;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const slot = x & (W - 1);
    if (ring[slot] !== 0) heap.free(ring[slot]);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const p = heap.malloc(16 + umod(x, 1009));
    if (p === 0) throw new Error("heap exhausted");
    heap.u8[p] = i & 255;
    ring[slot] = p;
  }
  const seconds = (performance.now() - t0) / 1000;
  const atPeak = heap.stats();
  for (let s = 0; s < W; s++) if (ring[s] !== 0) heap.free(ring[s]);
  const after = heap.stats();
  heap.dispose();
  if (!print) return;
  console.log(`random_mixed W=${W} N=${N.toLocaleString("en-US")}: ${((N / seconds) / 1e6).toFixed(2)} M iterations/s (${(seconds * 1000).toFixed(0)} ms)`);
  console.log(`  before the final frees: ${atPeak.liveBlocks} live blocks, ${atPeak.liveBytes} live bytes, heap ${atPeak.heapBytes} bytes`);
  console.log(`  peak heap ${atPeak.peakHeapBytes} bytes, ${atPeak.growths} growths; after freeing all: ${after.liveBlocks} live blocks, heap ${after.heapBytes} bytes`);
  // Arrays (per-class tables) are summarized to their length to keep the line short.
  console.log("  stats():", JSON.stringify(after, (_k, v: unknown) => (Array.isArray(v) ? `[${v.length} entries]` : v)));
}

randomMixed(false); // warm-up
randomMixed(true);
