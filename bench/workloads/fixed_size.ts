/**
 * fixed_size — random_mixed with every size 256 B (the seed's bench_fixed_size): the pure
 * free-list fast path of one size class.
 *
 * Definition: the ring loop of random_mixed.ts with W = 4096, N = 2,000,000, seed 42,
 * minSize = 256, sizeRange = 0 — so one PRNG draw per iteration (the slot) and no size draw.
 * Iterations/s = N / seconds of the loop.
 */

import { ringWorkload } from "./random_mixed.js";

export const fixedSize = ringWorkload("fixed_size", "free + malloc of 256 B over a ring of 4096 slots", {
  W: 4096,
  N: 2_000_000,
  seed: 42,
  minSize: 256,
  sizeRange: 0,
});
