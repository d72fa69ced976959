/**
 * workloads/types — what a workload is, for the registry (workloads/index.ts) and the runners.
 *
 * A workload is a deterministic sequence of allocator calls with named numeric parameters. It
 * reports how many iterations it ran (its unit is stated by `iterationUnit`) and the seconds they
 * took, timed with performance.now() around the measured loop only: setup (creating the allocator,
 * typed arrays) and teardown (freeing what is left, dispose) are outside the clock.
 *
 * Two kinds:
 * - "single": runs in the calling thread against one BenchAllocator instance.
 * - "multi": runs several worker_threads (larson.ts, mid_large_mt.ts, xthread.ts). Such a
 *   workload receives the loaded peer and its registry entry rather than an instance, starts its
 *   workers (bench/workers/), and each worker loads the peer itself (peers/types.ts, multi-worker
 *   modes). It runs only the peers whose `multi.mode` is in its `modes`; the others are skipped
 *   with a note. The clock covers the workers' timed parts (workloads/multi.ts), not their
 *   start-up. The child process dispatches on `kind`, so adding one is: a module here + a registry line.
 */

import type { BenchAllocator, MultiMode, Peer } from "../peers/types.js";
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
  /** Multi-worker workloads: the shared instance's peak footprint (NaN when the peer has none). */
  peakFootprintBytes?: number;
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
  /**
   * The same workload in bench/native/ring.c (the native rows): the program's arguments for a
   * run with parameters `p`, without the trailing "warmups runs". Absent: no native counterpart.
   */
  native?(p: Params): string[];
}

export interface MultiWorkerWorkload extends WorkloadBase {
  kind: "multi";
  /** Number of worker_threads working at once (more may be started: larson's later generations). */
  workers: number;
  /** The multi-worker modes it runs (peers/types.ts); peers of other modes are skipped. */
  modes: readonly MultiMode[];
  /** How it runs with a peer of `mode`, one line for the report (hand-overs, who fills, ...). */
  how(mode: MultiMode, p: Params): string;
  run(peer: Peer, entry: PeerEntry, p: Params): Promise<RunOutcome>;
}

/** Why a peer (its `multi` mode and `noMulti` reason, peers/types.ts) does not run `w`, or null when it does. */
export function multiSkipReason(w: MultiWorkerWorkload, peer: { multi?: { mode: MultiMode }; noMulti?: string }): string | null {
  const multi = peer.multi;
  if (multi === undefined) return peer.noMulti ?? "cannot be shared between workers, nor has a per-worker baseline";
  if (!w.modes.includes(multi.mode)) {
    return multi.mode === "single"
      ? "cannot be shared between workers (it runs only the single-worker larson_t1)"
      : multi.mode === "gc"
        ? "no GC counterpart (a GC object has no owner to hand it back to for freeing)"
        : `mode ${multi.mode} not supported by this workload`;
  }
  return null;
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
