/**
 * realloc_grow — growing vectors: realloc by doubling, interleaved, the pattern of a growing
 * array or string builder.
 *
 * Definition, parameters V (vectors), rounds, minSize, maxSize (powers of two):
 *
 *     repeat `rounds` times:
 *       for v in 0..V-1:  p[v] = malloc(minSize); write byte v at p[v][0]
 *       for size = 2·minSize, 4·minSize, .., maxSize:
 *         for v in 0..V-1: p[v] = realloc(p[v], size); write byte v at p[v][size - 1]
 *       for v in 0..V-1:  free(p[v])
 *
 * Defaults: V = 64, minSize = 16 B, maxSize = 64 KiB (12 doublings), rounds = 500. The vectors
 * grow in lock-step, so each one's neighbour in memory is usually another live vector: in-place
 * growth is rarely free, and a moving realloc copies the old contents (up to 4 MiB per round).
 * Peers without realloc emulate it with malloc + copy of the old size + free (said in the output).
 * Iterations = allocator calls (malloc + realloc + free) = rounds · V · (2 + log2(max/min));
 * 448,000 at the defaults. Checksum: the iteration count.
 */

import type { BenchAllocator } from "../peers/types.js";
import { exhausted, fmtInt, param, type Params, type RunOutcome, type SingleWorkload } from "./types.js";

function runReallocGrow(a: BenchAllocator, V: number, rounds: number, minSize: number, maxSize: number): RunOutcome {
  const vec = new Uint32Array(V);
  let calls = 0;
  const t0 = performance.now();
  for (let r = 0; r < rounds; r++) {
    for (let v = 0; v < V; v++) {
      const p = a.malloc(minSize);
      if (p === 0) throw exhausted("realloc_grow", calls, minSize);
      a.write(p, 0, v);
      vec[v] = p;
    }
    calls += V;
    for (let size = minSize * 2; size <= maxSize; size *= 2) {
      for (let v = 0; v < V; v++) {
        const p = a.realloc(vec[v], size >>> 1, size);
        if (p === 0) throw exhausted("realloc_grow (realloc)", calls + v, size);
        a.write(p, size - 1, v);
        vec[v] = p;
      }
      calls += V;
    }
    for (let v = 0; v < V; v++) a.free(vec[v]);
    calls += V;
  }
  const seconds = (performance.now() - t0) / 1000;
  return { iterations: calls, seconds, checksum: calls };
}

const params = { V: 64, rounds: 500, minSize: 16, maxSize: 65_536 };

export const reallocGrow: SingleWorkload = {
  kind: "single",
  name: "realloc_grow",
  summary: "64 vectors grown 16 B → 64 KiB by realloc doubling, then freed",
  params,
  quickParams: { ...params, rounds: params.rounds / 4 },
  iterationParam: "rounds",
  iterationUnit: "iteration = one allocator call (malloc, realloc or free)",
  describe: (p: Params) =>
    `V=${param(p, "V")}, rounds=${fmtInt(param(p, "rounds"))}, ${fmtInt(param(p, "minSize"))} B → ${fmtInt(param(p, "maxSize"))} B`,
  run: (a, p) => runReallocGrow(a, param(p, "V"), param(p, "rounds"), param(p, "minSize"), param(p, "maxSize")),
  native: (p) => ["realloc", ...["V", "rounds", "minSize", "maxSize"].map((k) => String(param(p, k)))],
};
