/**
 * peers/types — the one interface every benchmarked allocator ("peer") is driven through.
 *
 * A peer module (bench/peers/*.ts) exports a `PeerModule`. The parent process (run.ts) calls
 * `prepare` once to build artifacts (e.g. compile WASM) and `load` to probe it; each child process
 * (child.ts) calls `load` and then `create()` once per timed run, so every run starts from a fresh
 * allocator instance. A child only ever holds instances of one `BenchAllocator` class, so the
 * workload loops' call sites stay monomorphic.
 *
 * Handles: `malloc` returns a number, 0 meaning "could not allocate". For the buffer-based
 * allocators the handle is the byte offset into their buffer (a uint32); the GC peer hands out
 * indices into its own table. Workloads store handles in a Uint32Array.
 */

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
}

export interface Peer extends PeerInfo {
  /** A fresh allocator instance (synchronous: all asynchronous setup happened in `load`). */
  create(): BenchAllocator;
  /**
   * When this peer is too slow to run a workload at its full size: the largest value of the
   * workload's iteration parameter it runs instead (the output then says "shortened").
   */
  iterationCap?(workload: string, quick: boolean): number | undefined;
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
}
