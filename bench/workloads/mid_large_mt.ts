/**
 * mid_large_mt — the seed's bench_mid_large_mt: T workers (T = 2) at once, each running the ring
 * loop of `mid` (free + malloc of 8–52 KiB over its own ring of W = 256 slots) independently, on
 * one shared heap.
 *
 * Definition: larson.ts's team runner with G = 1 generation, M = W slots per worker that start
 * empty (a slot's first operation only mallocs, as in `mid`), N operations per worker, sizes
 * 8192 + x mod 45056 = 8 KiB .. 52 KiB - 1 B, each worker seeded by workers/protocol.ts seedFor.
 * No block crosses workers; what is shared is the heap (its segments, span bins and lock), so the
 * row shows what the workers cost each other. Every block carries the pattern and is verified
 * before its free; at the end (outside the clock) each worker frees its ring and the heap must be
 * empty. Iterations/s = T × N / seconds, from GO to the last worker's end (workloads/multi.ts).
 * Peers: "shared" (hakmem); "gc": each worker `new Uint8Array`s in its own isolate. The reference
 * does not take part (it cannot be shared; `mid` has it single-worker).
 */

import { runRingTeam } from "./larson.js";
import { fmtInt, param, type MultiWorkerWorkload, type Params } from "./types.js";

const params: Params = { T: 2, W: 256, N: 200_000, minSize: 8192, sizeRange: 45056, seed: 42, warmOps: 10_000 };

export const midLargeMt: MultiWorkerWorkload = {
  kind: "multi",
  name: "mid_large_mt",
  summary: "T workers at once, each free + malloc of 8–52 KiB over its own ring of 256 slots (mid, multi-worker), one shared heap",
  params,
  quickParams: { ...params, N: 50_000, warmOps: 5_000 },
  iterationParam: "N",
  iterationUnit: "iteration = one free (when the slot is full) + one malloc + pattern writes and checks, summed over the workers",
  workers: 2,
  modes: ["shared", "gc"],
  how: (mode) =>
    mode === "shared" ? "every worker attachHeap()s the one heap; rings of its own, no block crosses workers" : "every worker new Uint8Array()s in its own isolate",
  describe: (p) =>
    `T=${param(p, "T")}, W=${fmtInt(param(p, "W"))}, N=${fmtInt(param(p, "N"))}/worker, ` +
    `${fmtInt(param(p, "minSize"))}–${fmtInt(param(p, "minSize") + param(p, "sizeRange") - 1)} B, seed ${param(p, "seed")}`,
  run: (peer, entry, p) =>
    runRingTeam(peer, entry, {
      what: "mid_large_mt",
      T: param(p, "T"),
      M: param(p, "W"),
      G: 1,
      R: param(p, "N"),
      minSize: param(p, "minSize"),
      range: param(p, "sizeRange"),
      seed: param(p, "seed"),
      warmOps: param(p, "warmOps"),
      fill: false,
    }),
};
