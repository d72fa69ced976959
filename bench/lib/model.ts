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
  /** The peer's peak footprint after the run, bytes; null when it has no measure. */
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
  peakFootprintBytes: number | null;
  peakLiveBytes: number | null;
  errors: string[];
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
}
