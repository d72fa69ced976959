/**
 * random_mixed_quick — the example job (`npm run example`): hakmem on a short random_mixed
 * (ring of W = 4096 slots, N = 1,000,000 iterations of free + malloc of 16–1024 B + a one-byte
 * write, xorshift32 seeded 42; see workloads/random_mixed.ts), then its iterations/s and heap
 * statistics.
 *
 *   npm run example [-- --n N] [-- --help]
 *
 * Steady state, as the suite measures (child.ts): one heap, two untimed passes first (V8 optimizes
 * the loop; the heap serves the very sequence of calls to come, fresh and then warm), then the
 * timed pass on the same heap. Every pass frees all it allocated, so the second starts from a heap holding nothing.
 */

import { createHeap } from "../src/index.js";
import { intOption, parseCommandLine } from "./lib/args.js";
import { umod } from "./lib/rand.js";

const W = 4096;

const USAGE = `usage: npm run example [-- options]   (node build/bench/random_mixed_quick.js)
  --n N     iterations of the timed pass (default 1,000,000)
  --help    this text
`;

type Heap = ReturnType<typeof createHeap>;

/** One pass of the ring loop on `heap`; returns its seconds and the heap's stats before the final frees. */
function randomMixed(heap: Heap, N: number): { seconds: number; atPeak: ReturnType<Heap["stats"]> } {
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
  return { seconds, atPeak };
}

const values = parseCommandLine(process.argv.slice(2), { n: { type: "string" } }, USAGE);
const N = intOption("n", values.n, 1, 1_000_000);
const heap = createHeap();
randomMixed(heap, N); // warm-up: a fresh heap
randomMixed(heap, N); // warm-up: a warm heap, as the timed pass
const { seconds, atPeak } = randomMixed(heap, N);
const after = heap.stats();
heap.dispose();
console.log(`random_mixed W=${W} N=${N.toLocaleString("en-US")}: ${(N / seconds / 1e6).toFixed(2)} M iterations/s (${(seconds * 1000).toFixed(0)} ms, warm heap)`);
console.log(`  before the final frees: ${atPeak.liveBlocks} live blocks, ${atPeak.liveBytes} live bytes, heap ${atPeak.heapBytes} bytes`);
console.log(`  peak heap ${atPeak.peakHeapBytes} bytes, ${atPeak.growths} growths; after freeing all: ${after.liveBlocks} live blocks, heap ${after.heapBytes} bytes`);
// Arrays (per-class tables) are summarized to their length to keep the line short.
console.log("  stats():", JSON.stringify(after, (_k, v: unknown) => (Array.isArray(v) ? `[${v.length} entries]` : v)));
