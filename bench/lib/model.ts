/**
 * model — the records a benchmark run produces, shared by the child, the parent and the reports.
 * Everything here is plain JSON (it crosses the process boundary and lands in latest.json).
 */

import type { PeerInfo } from "../peers/types.js";
import type { Params } from "../workloads/types.js";

/** One timed run in a child process. */
export interface RunRecord {
  iterations: number;
  seconds: number;
  checksum: number;
  /**
   * Multi-worker runs: the shared instance's peak footprint after the run, bytes; null when it has
   * no measure, and for single-worker runs (their instance also served the warm-up runs: the
   * footprint runs of footprint.ts measure one run on a fresh instance instead).
   */
  peakFootprintBytes: number | null;
  /** The workload's peak live requested bytes, when it tracks them. */
  peakLiveBytes: number | null;
}

/** What a child prints (one line, prefixed by RESULT_PREFIX). */
export type ChildResult =
  | {
      status: "ok";
      peer: PeerInfo;
      workload: string;
      params: Params;
      describe: string;
      /** True when the peer's iteration cap shortened the workload. */
      shortened: boolean;
      warmupRuns: number;
      runs: RunRecord[];
    }
  | {
      status: "skipped";
      peer: string;
      workload: string;
      reason: string;
      /** "pair": only this workload is skipped for the peer (multi-worker); absent: the peer cannot run at all. */
      scope?: "pair";
    }
  | { status: "error"; peer: string; workload: string; error: string };

export const RESULT_PREFIX = "@@BENCH-RESULT ";
/** What bench/footprint.ts --json prints before its FootprintReport. */
export const FOOTPRINT_PREFIX = "@@BENCH-FOOTPRINT ";

export interface Summary {
  median: number;
  min: number;
  max: number;
}

/** All runs of one (workload, peer) pair, aggregated over the child processes. */
export interface Cell {
  workload: string;
  peer: string;
  params: Params;
  describe: string;
  shortened: boolean;
  reallocNative: boolean;
  runs: RunRecord[];
  /** Iterations per second over the runs; null when no run succeeded. */
  opsPerSec: Summary | null;
  /** Multi-worker workloads: the largest peak footprint of the runs (single-worker: footprint.ts). */
  peakFootprintBytes: number | null;
  errors: string[];
}

/** One row of the footprint table (bench/footprint.ts): one case, one peer, one untimed run. */
export interface FootprintRow {
  /** The case, e.g. "random_mixed W=4096" (its parameters in `describe`). */
  case: string;
  describe: string;
  /** Workers (or C threads) running a ring each at the same time. */
  workers: number;
  peer: string;
  /** The peer's peak footprint over the run (summed over private instances); null: no measure. */
  peakBytes: number | null;
  /** Bytes mapped at the end of the loop, where the peer says (hakmem: stats().mappedBytes). */
  mappedBytes: number | null;
  /** The peak live requested bytes, summed over the workers (each worker's own peak). */
  peakLiveBytes: number;
  /** How `peakBytes` was measured. */
  measuredAs: string;
  /** Set when the peer's iteration cap shortened the run: the iterations it ran. */
  shortenedTo: number | null;
}

export interface FootprintReport {
  /** What a fresh instance maps before its first malloc (peers with `mappedBytes`: hakmem's createHeap()). */
  fresh: { peer: string; mappedBytes: number }[];
  rows: FootprintRow[];
  /** Peers or cases not measured, and why. */
  notes: string[];
}

export interface Meta {
  commit: string;
  /** Digest of the compiled code the run loads (lib/env.ts buildDigest) at its start. */
  build: string;
  node: string;
  v8: string;
  cpu: string;
  cores: number;
  platform: string;
  /** 1-minute load average at the start (other processes competing for the cores). */
  load: number;
  /** The same at the end of the run, and the run's duration in seconds. */
  loadEnd?: number;
  seconds?: number;
  date: string;
  quick: boolean;
  /** True with --cold: every timed run on a fresh instance (child.ts); false: steady state. */
  cold: boolean;
  runs: number;
  warmup: number;
  command: string;
}

export interface WorkloadInfo {
  name: string;
  kind: "single" | "multi";
  summary: string;
  iterationUnit: string;
  /** The parameter that sets the run's length (the one slow peers get shortened on). */
  iterationParam: string;
  describe: string;
  /** Multi-worker workloads: how they run with a peer of each mode (peers/types.ts MultiMode). */
  how?: Record<string, string>;
}

export interface Report {
  meta: Meta;
  workloads: WorkloadInfo[];
  peers: PeerInfo[];
  /** Peers that did not run, with why. */
  skipped: { peers: string[]; reason: string }[];
  cells: Cell[];
  /** Anything the reader must know (checksum mismatches, failures). */
  warnings: string[];
  /** The footprint runs (bench/footprint.ts); absent with --no-footprint. */
  footprint?: FootprintReport;
}
