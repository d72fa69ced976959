/**
 * peers/types — the one interface every benchmarked allocator ("peer") is driven through.
 *
 * A peer module (bench/peers/*.ts) exports a `PeerModule`. The parent process (run.ts) calls
 * `prepare` once to build artifacts (e.g. compile WASM) and `load` to probe it; each child process
 * (child.ts) calls `load` and then `create()`: once for the warm-up and timed runs of the
 * steady-state method, or once more per timed run with --cold. A child only ever holds instances
 * of one `BenchAllocator` class, so the workload loops' call sites stay monomorphic.
 *
 * Native peers (peers/native.ts) have no `create()`: their workloads run in a C program of their
 * own (`Peer.external`), which run.ts starts in place of a child process.
 *
 * Handles: `malloc` returns a number, 0 meaning "could not allocate". For the buffer-based
 * allocators the handle is the byte offset into their buffer (a uint32); the GC peer hands out
 * indices into its own table. Workloads store handles in a Uint32Array.
 *
 * Multi-worker workloads (workloads/larson.ts, mid_large_mt.ts, xthread.ts) drive a peer through
 * `Peer.multi` (how it takes part, in the child's main thread) and `PeerModule.attachWorker` (its
 * allocator inside each worker, bench/workers/). Three ways of taking part (`MultiMode`):
 * - "shared": one instance in shared memory; the child's main thread creates it
 *   (`MultiPeer.createShared`), every worker attaches to its `handle`; handles are plain numbers
 *   valid in every worker, so blocks cross workers through shared Int32Arrays (hakmem).
 * - "gc": every worker allocates JS objects of its own; a block crosses workers only inside a
 *   postMessage, and "free" drops it (the GC baseline). Its allocator implements `GcBlockMover`.
 * - "single": cannot be shared; runs only the multi-worker workloads that one worker can do alone
 *   (larson_t1), in that one worker (the speed-of-light reference).
 * A peer without `multi` takes no part: the multi-worker workloads skip it with a note.
 */

import type { RunRecord } from "../lib/model.js";
import type { Params, SingleWorkload } from "../workloads/types.js";

export interface BenchAllocator {
  /** Allocates `size` bytes; returns a non-zero handle, or 0 when the allocator is exhausted. */
  malloc(size: number): number;
  /** Frees a handle returned by malloc/realloc. */
  free(handle: number): void;
  /** Writes the byte `value` at byte `offset` of the block (through the allocator's current view). */
  write(handle: number, offset: number, value: number): void;
  /**
   * Resizes a block to `newSize` bytes keeping its first min(oldSize, newSize) bytes; returns the
   * new handle (0 on failure, the old block then stays valid). `oldSize` is the size the workload
   * requested last time: peers with a native realloc ignore it; peers without one emulate realloc
   * with malloc + copy of `oldSize` bytes + free (their `PeerInfo.reallocNative` is false).
   */
  realloc(handle: number, oldSize: number, newSize: number): number;
  /** Peak bytes the allocator took from its memory so far (see `PeerInfo.footprint`); NaN if n/a. */
  peakFootprint(): number;
  /** Bytes of its memory the allocator has mapped (hakmem: `stats().mappedBytes`), where it says. */
  mappedBytes?(): number;
  /** An SVG picture of the heap, where the allocator can draw one (hakmem's renderMap()). */
  heapMap?(): string;
  /** Releases the instance (untimed). */
  dispose(): void;
}

/** What a loaded peer is and how it is measured; printed with the results. */
export interface PeerInfo {
  name: string;
  /** One line: what exactly runs. */
  description: string;
  /** False: realloc is emulated with malloc + copy + free (said so in the output). */
  reallocNative: boolean;
  /** How `peakFootprint` is measured, or null when the peer has no honest measure ("n/a"). */
  footprint: string | null;
  /** True when instances can be shared by several worker_threads (for multi-worker workloads). */
  shareable: boolean;
  /** How it takes part in the multi-worker workloads (see the header); absent: it does not. */
  multi?: { mode: MultiMode; how: string };
  /** Why it takes no part in the multi-worker workloads, when `multi` is absent (else a generic reason). */
  noMulti?: string;
}

/** The JSON-able description of a loaded peer. */
export function infoOf(peer: Peer): PeerInfo {
  return {
    name: peer.name,
    description: peer.description,
    reallocNative: peer.reallocNative,
    footprint: peer.footprint,
    shareable: peer.shareable,
    ...(peer.multi !== undefined ? { multi: { mode: peer.multi.mode, how: peer.multi.how } } : {}),
    ...(peer.noMulti !== undefined ? { noMulti: peer.noMulti } : {}),
  };
}

export interface Peer extends PeerInfo {
  /**
   * A fresh allocator instance (synchronous: all asynchronous setup happened in `load`). Absent
   * for the peers that run out of process (`external`).
   */
  create?(): BenchAllocator;
  /** The native peers: their single-worker workloads run in a program of their own. */
  external?: ExternalPeer;
  /**
   * When this peer is too slow to run a workload at its full size: the largest value of the
   * workload's iteration parameter it runs instead (the output then says "shortened").
   */
  iterationCap?(workload: string, quick: boolean): number | undefined;
  /** How it takes part in multi-worker workloads; absent: it does not (skipped with a note). */
  multi?: MultiPeer;
}

/** A peer whose workloads run as a program of its own (peers/native.ts), one process per call. */
export interface ExternalPeer {
  /**
   * Runs `warmup` warm-up runs, then `runs` timed runs of `w` with parameters `p`, in one process
   * (the steady-state method of child.ts); returns the timed runs. Throws when `w` has no native
   * form or the program fails.
   */
  run(w: SingleWorkload, p: Params, warmup: number, runs: number): Promise<RunRecord[]>;
  /**
   * Untimed: one thread per seed, each running the tracked ring loop (workloads/memory.ts) with
   * W slots, N iterations, sizes minSize + x mod sizeRange, started together. Returns each
   * thread's peak live requested bytes and the process's peak footprint as measured (`how`).
   */
  footprint(W: number, N: number, minSize: number, sizeRange: number, seeds: readonly number[]): Promise<ExternalFootprint>;
}

export interface ExternalFootprint {
  peakLiveBytes: number[];
  footprintBytes: number;
  /** How `footprintBytes` was measured. */
  how: string;
}

/** How a peer takes part in the multi-worker workloads (see the header). */
export type MultiMode = "shared" | "gc" | "single";

/** A peer's allocator as one worker of a multi-worker workload uses it. */
export interface WorkerAllocator {
  malloc(size: number): number;
  free(handle: number): void;
  write(handle: number, offset: number, value: number): void;
  /** Reads the byte at `offset` of the block (the workloads verify a pattern before each free). */
  read(handle: number, offset: number): number;
  /** A private instance's peak footprint, as `BenchAllocator.peakFootprint` (footprint runs of "single" peers). */
  peakFootprint?(): number;
  /** This worker is done with the allocator (hakmem: `heap.dispose()`, abandoning its pages). */
  dispose(): void;
}

/** "gc" mode: how blocks leave one worker's table and join another's (inside a postMessage). */
export interface GcBlockMover {
  /** Removes block `handle` from this worker's table and returns it (for postMessage). */
  take(handle: number): Uint8Array;
  /** Adds a block received from another worker; returns its handle here. */
  put(block: Uint8Array): number;
}

/** One shared instance, owned by the child process's main thread ("shared" mode). */
export interface SharedInstance {
  /** Structured-cloneable: what `PeerModule.attachWorker` takes in each worker. */
  handle: unknown;
  /** The main thread's own allocator on the instance (initial fill, final cleanup). */
  local: WorkerAllocator;
  /** Peak bytes taken from the memory so far (as `BenchAllocator.peakFootprint`); NaN if n/a. */
  peakFootprint(): number;
  /** Bytes mapped (as `BenchAllocator.mappedBytes`), where the peer says. */
  mappedBytes?(): number;
  /**
   * Blocks still in use, after the main thread reclaimed what it can (hakmem: collect() then
   * stats().liveBlocks); -1 when the peer cannot say. The workloads check it is 0 at the end.
   */
  liveBlocks(): number;
  /** Releases the instance (after every worker has ended). */
  dispose(): void;
}

export interface MultiPeer {
  mode: MultiMode;
  /** How the workloads run with this peer (how blocks move between workers), one line for the report. */
  how: string;
  /** "shared" mode: creates the instance (in the child's main thread, outside the clock). */
  createShared?(): SharedInstance;
}

/** Thrown by `load` when a peer cannot run here (missing tool, rejected option): a skip, not a failure. */
export class PeerSkipped extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PeerSkipped";
  }
}

export interface PeerModule {
  /** Builds whatever the peer needs into `tmpDir` (parent process, once per run). Throws PeerSkipped to skip. */
  prepare?(variant: string, tmpDir: string): Promise<void>;
  /** Loads the peer (in the parent as a probe, and in each child). Throws PeerSkipped to skip. */
  load(variant: string, tmpDir: string): Promise<Peer>;
  /**
   * Multi-worker workloads, inside a worker: this worker's allocator. "shared" mode: attached to
   * `handle` (from `SharedInstance.handle`), or with `handle` null a private instance of the same
   * class (for warm-up); "gc" and "single" modes: a fresh private instance (`handle` is null).
   */
  attachWorker?(variant: string, handle: unknown, tmpDir: string): Promise<WorkerAllocator>;
}
