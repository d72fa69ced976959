/**
 * mid — random_mixed with mid sizes, 8–52 KiB (the seed's bench_mid_large_mt / Pool TLS range),
 * single worker.
 *
 * Definition: the ring loop of random_mixed.ts with W = 256, N = 1,000,000, seed 42,
 * minSize = 8192, sizeRange = 45056 (44 KiB): sizes 8192 + x mod 45056 = 8 KiB .. 52 KiB - 1 B.
 * About 8 MiB live. Iterations/s = N / seconds of the loop. (N was 200,000: on a warm instance
 * the fastest peers ran that in 1–2 ms, too short a clock on a shared 2-core machine — one
 * preemption and the rate read 10× off.)
 */

import { ringWorkload } from "./random_mixed.js";

export const mid = ringWorkload("mid", "free + malloc of 8–52 KiB over a ring of 256 slots", {
  W: 256,
  N: 1_000_000,
  seed: 42,
  minSize: 8192,
  sizeRange: 45056,
});
