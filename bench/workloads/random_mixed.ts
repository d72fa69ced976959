/**
 * random_mixed — free + malloc of random sizes over a ring of W slots (the seed's
 * bench_random_mixed). Also the loop behind fixed_size and mid.
 *
 * Definition, parameters W (slots), N (iterations), seed, minSize, sizeRange:
 *
 *     x = seed                                  (xorshift32 state, see lib/rand.ts)
 *     ring[0..W) = empty
 *     for i = 0 .. N-1:
 *       x = xorshift32(x); slot = x mod W       first draw of the iteration: the slot
 *       if ring[slot] is not empty: free(ring[slot])
 *       size = minSize
 *       if sizeRange > 0:
 *         x = xorshift32(x); size += x mod sizeRange   second draw: the size
 *       p = malloc(size)                        (0 is an error: the run stops)
 *       write the byte (i & 255) at p[0]; ring[slot] = p
 *     then, outside the timed region, free every block still in the ring.
 *
 * "x mod m" is the uint32 modulus, computed in int32 arithmetic: `x & (W - 1)` for a power-of-two
 * W, else `umod` (lib/rand.ts); the same code runs for every peer.
 * Rows: random_mixed (W = 4096) and random_mixed_w256 (W = 256), both N = 2,000,000, sizes
 * 16 + x mod 1009 = 16..1024 B, seed 42. Iterations/s = N / seconds of the loop.
 * Checksum: the final PRNG state.
 */

import { isPowerOfTwo, umod } from "../lib/rand.js";
import type { BenchAllocator } from "../peers/types.js";
import { exhausted, fmtInt, param, type Params, type RunOutcome, type SingleWorkload } from "./types.js";

/** The ring loop, timed. Exported for fixed_size and mid. */
export function runRing(a: BenchAllocator, W: number, N: number, seed: number, minSize: number, sizeRange: number): RunOutcome {
  const ring = new Uint32Array(W);
  const mask = isPowerOfTwo(W) ? W - 1 : -1;
  let x = seed | 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const slot = mask >= 0 ? x & mask : umod(x, W);
    const old = ring[slot];
    if (old !== 0) a.free(old);
    let size = minSize;
    if (sizeRange > 0) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      size += umod(x, sizeRange);
    }
    const p = a.malloc(size);
    if (p === 0) throw exhausted("ring", i, size);
    a.write(p, 0, i & 255);
    ring[slot] = p;
  }
  const seconds = (performance.now() - t0) / 1000;
  for (let s = 0; s < W; s++) {
    if (ring[s] !== 0) a.free(ring[s]);
  }
  return { iterations: N, seconds, checksum: x >>> 0 };
}

export function describeRing(p: Params): string {
  const min = param(p, "minSize");
  const range = param(p, "sizeRange");
  const sizes = range > 0 ? `${fmtInt(min)}–${fmtInt(min + range - 1)} B` : `${fmtInt(min)} B`;
  return `W=${fmtInt(param(p, "W"))}, N=${fmtInt(param(p, "N"))}, ${sizes}, seed ${param(p, "seed")}`;
}

/** bench/native/ring.c's arguments for the ring loop (`track`: memory.ts's bookkeeping too). */
export function ringNativeArgs(p: Params, track: boolean): string[] {
  return ["ring", ...["W", "N", "seed", "minSize", "sizeRange"].map((k) => String(param(p, k))), track ? "1" : "0"];
}

export function ringWorkload(name: string, summary: string, params: Params): SingleWorkload {
  return {
    kind: "single",
    name,
    summary,
    params,
    quickParams: { ...params, N: Math.floor(param(params, "N") / 4) },
    iterationParam: "N",
    iterationUnit: "iteration = one free (when the slot is full) + one malloc + one byte write",
    describe: describeRing,
    run: (a, p) => runRing(a, param(p, "W"), param(p, "N"), param(p, "seed"), param(p, "minSize"), param(p, "sizeRange")),
    native: (p) => ringNativeArgs(p, false),
  };
}

export const randomMixed = ringWorkload("random_mixed", "free + malloc of 16–1024 B over a ring of 4096 slots", {
  W: 4096,
  N: 2_000_000,
  seed: 42,
  minSize: 16,
  sizeRange: 1009,
});

export const randomMixedW256 = ringWorkload("random_mixed_w256", "random_mixed over a ring of 256 slots", {
  W: 256,
  N: 2_000_000,
  seed: 42,
  minSize: 16,
  sizeRange: 1009,
});
