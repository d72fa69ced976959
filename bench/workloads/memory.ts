/**
 * memory — the cost in memory, not only in time: random_mixed over a large ring, reporting the
 * allocator's peak footprint against the peak of the bytes the program asked for.
 *
 * Definition: the ring loop of random_mixed.ts with W = 65,536, N = 2,000,000, seed 42, sizes
 * 16 + x mod 1009 (16–1024 B), plus bookkeeping in the loop: the workload keeps each slot's
 * requested size and the running sum of live requested bytes, and its peak (`peakLiveBytes`,
 * measured right after each malloc). About 34 MB live at the peak.
 * Its footprint — the peer's peak footprint (`BenchAllocator.peakFootprint`: for hakmem
 * `stats().peakHeapBytes`; each peer documents its own measure, or "n/a") against the peak live
 * bytes, 1.0 being no overhead at all — is measured by bench/footprint.ts, in one untimed run of
 * this very loop on a fresh instance (the peak of one run; the timed runs here share their instance
 * with the warm-up runs, see child.ts).
 * Iterations/s = N / seconds of the loop (the bookkeeping is the same for every peer).
 * Checksum: the final PRNG state. Peers that can draw their heap (hakmem: renderMap()) save a
 * picture of it, at the end of the loop, to bench/results/memory-map.svg.
 */

import { writeFileSync } from "node:fs";
import { isPowerOfTwo, umod } from "../lib/rand.js";
import type { BenchAllocator } from "../peers/types.js";
import { describeRing, ringNativeArgs } from "./random_mixed.js";
import { exhausted, param, type Params, type RunOutcome, type SingleWorkload } from "./types.js";

/** Where the map of the heap after the loop goes: bench/results/memory-map.svg (from build/bench/workloads/). */
const MAP_FILE = new URL("../../../bench/results/memory-map.svg", import.meta.url);

/** What the tracked ring needs of an allocator (a BenchAllocator or a worker's WorkerAllocator). */
export type RingAllocator = Pick<BenchAllocator, "malloc" | "free" | "write">;

/**
 * The ring loop with live-byte bookkeeping (see the header), timed; `atEnd` runs after the loop,
 * untimed, before the ring is freed. Also the loop of the footprint runs (bench/footprint.ts).
 */
export function runTrackedRing(
  a: RingAllocator, W: number, N: number, seed: number, minSize: number, sizeRange: number, atEnd?: () => void,
): RunOutcome & { peakLiveBytes: number } {
  const ring = new Uint32Array(W);
  const sizes = new Int32Array(W);
  const mask = isPowerOfTwo(W) ? W - 1 : -1;
  let x = seed | 0;
  let live = 0;
  let peakLive = 0;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const slot = mask >= 0 ? x & mask : umod(x, W);
    const old = ring[slot];
    if (old !== 0) {
      a.free(old);
      live -= sizes[slot];
    }
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = minSize + umod(x, sizeRange);
    const p = a.malloc(size);
    if (p === 0) throw exhausted("tracked ring", i, size);
    a.write(p, 0, i & 255);
    ring[slot] = p;
    sizes[slot] = size;
    live += size;
    if (live > peakLive) peakLive = live;
  }
  const seconds = (performance.now() - t0) / 1000;
  atEnd?.();
  for (let s = 0; s < W; s++) {
    if (ring[s] !== 0) a.free(ring[s]);
  }
  return { iterations: N, seconds, checksum: x >>> 0, peakLiveBytes: peakLive };
}

/** memory's run: the tracked ring, and a picture of the heap at its fullest for whoever looks into fragmentation (untimed). */
function runMemory(a: BenchAllocator, p: Params): RunOutcome {
  const atEnd = a.heapMap !== undefined ? () => writeFileSync(MAP_FILE, a.heapMap!()) : undefined;
  return runTrackedRing(a, param(p, "W"), param(p, "N"), param(p, "seed"), param(p, "minSize"), param(p, "sizeRange"), atEnd);
}

const params = { W: 65_536, N: 2_000_000, seed: 42, minSize: 16, sizeRange: 1009 };

export const memory: SingleWorkload = {
  kind: "single",
  name: "memory",
  summary: "random_mixed over 65,536 slots: peak footprint / peak live bytes",
  params,
  quickParams: { ...params, N: params.N / 4 },
  iterationParam: "N",
  iterationUnit: "iteration = one free (when the slot is full) + one malloc + one byte write",
  describe: describeRing,
  run: runMemory,
  native: (p) => ringNativeArgs(p, true),
};
