/**
 * workloads/types — what a workload is, for the registry (workloads/index.ts) and the runners.
 *
 * A workload is a deterministic sequence of allocator calls with named numeric parameters. It
 * reports how many iterations it ran (its unit is stated by `iterationUnit`) and the seconds they
 * took, timed with performance.now() around the measured loop only: setup (creating the allocator,
 * typed arrays) and teardown (freeing what is left, dispose) are outside the clock.
 *
 * Two kinds:
 * - "single": runs in the calling thread against one BenchAllocator instance (all of today's).
 * - "multi": runs several worker_threads over one shared heap (larson, mid_large_mt, xthread: to
 *   come). Such a workload receives the peer's registry entry rather than an instance, starts its
 *   workers, and each worker loads the peer itself; only peers with `shareable: true` take part.
 *   The child process dispatches on `kind`, so adding one is: a module here + a registry line.
 */

import type { BenchAllocator } from "../peers/types.js";
import type { PeerEntry } from "../peers/index.js";

export type Params = Readonly<Record<string, number>>;

export interface RunOutcome {
  /** Iterations performed inside the timed region (what "iterations/s" counts). */
  iterations: number;
  /** Seconds of the timed region. */
  seconds: number;
  /** Digest of the run (e.g. the final PRNG state): equal for every peer at equal parameters. */
  checksum: number;
  /** Peak of the bytes requested and not yet freed, when the workload tracks it. */
  peakLiveBytes?: number;
}

interface WorkloadBase {
  name: string;
  /** One line: what it does. */
  summary: string;
  /** Parameters of a full run, and of a --quick run. */
  params: Params;
  quickParams: Params;
  /** The parameter that sets the length of a run (scaled for warm-up, capped for slow peers). */
  iterationParam: string;
  /** What one counted iteration is. */
  iterationUnit: string;
  /** Human-readable parameters, e.g. "W=4096, N=2,000,000, 16–1024 B". */
  describe(p: Params): string;
}

export interface SingleWorkload extends WorkloadBase {
  kind: "single";
  run(a: BenchAllocator, p: Params): RunOutcome;
}

export interface MultiWorkerWorkload extends WorkloadBase {
  kind: "multi";
  /** Number of worker_threads it starts. */
  workers: number;
  run(peer: PeerEntry, tmpDir: string, p: Params): Promise<RunOutcome>;
}

export type Workload = SingleWorkload | MultiWorkerWorkload;

/** Reads a required parameter. */
export function param(p: Params, key: string): number {
  const v = p[key];
  if (v === undefined || !Number.isFinite(v)) throw new Error(`missing workload parameter ${key}`);
  return v;
}

/** `p` with `key` replaced. */
export function withParam(p: Params, key: string, value: number): Params {
  return { ...p, [key]: value };
}

/** 2000000 → "2,000,000". */
export function fmtInt(n: number): string {
  return n.toLocaleString("en-US");
}

/** The error a workload throws when an allocator returns 0. */
export function exhausted(what: string, i: number, size: number): Error {
  return new Error(`${what}: malloc(${size}) returned 0 (allocator exhausted) at iteration ${i}`);
}
