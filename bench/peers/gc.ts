/**
 * gc — the garbage collector as an allocator: `new Uint8Array(n)` per allocation, the reference
 * dropped on free (what JS code does when it does not use an allocator).
 *
 * Handles are indices into a table of live arrays so that the workloads can treat every peer alike;
 * freed indices are recycled from a stack. The table costs a few ns per operation against ~1 µs of
 * `new Uint8Array` above 64 bytes (DESIGN.md §5), and is part of the measured time.
 * realloc is emulated: a new array plus a copy of the old contents (`set`), the old one dropped.
 * Footprint: n/a (the GC's heap is not attributable to one workload).
 * Too slow for the multi-worker rows at full length: `iterationCap` shortens larson (R),
 * mid_large_mt and xthread (N), the single-worker rings (N) and with --quick realloc_grow
 * (rounds), and the output says so.
 * Multi-worker workloads ("gc" mode, peers/types.ts): each worker has a table of its own; a block
 * moves to another worker only inside a postMessage (`take` it out of one table, `put` it into
 * the other), and "free" drops it for that worker's GC. How each workload moves blocks is said in
 * its report row (workloads/larson.ts, xthread.ts).
 */

import type { BenchAllocator, GcBlockMover, Peer, PeerModule, WorkerAllocator } from "./types.js";

const EMPTY = new Uint8Array(0);

export class GcAllocator implements BenchAllocator, WorkerAllocator, GcBlockMover {
  /** arrays[h] is the block of handle h; EMPTY when h is free (keeps the elements kind uniform). */
  private arrays: Uint8Array[] = [EMPTY];
  private freeHandles: number[] = [];

  malloc(size: number): number {
    const block = new Uint8Array(size);
    const h = this.freeHandles.length > 0 ? (this.freeHandles.pop() as number) : this.arrays.length;
    this.arrays[h] = block;
    return h;
  }

  free(h: number): void {
    this.arrays[h] = EMPTY;
    this.freeHandles.push(h);
  }

  write(h: number, offset: number, value: number): void {
    this.arrays[h][offset] = value;
  }

  read(h: number, offset: number): number {
    return this.arrays[h][offset];
  }

  take(h: number): Uint8Array {
    const block = this.arrays[h];
    this.free(h);
    return block;
  }

  put(block: Uint8Array): number {
    const h = this.freeHandles.length > 0 ? (this.freeHandles.pop() as number) : this.arrays.length;
    this.arrays[h] = block;
    return h;
  }

  realloc(h: number, oldSize: number, newSize: number): number {
    const old = this.arrays[h];
    const block = new Uint8Array(newSize);
    block.set(oldSize <= newSize ? old.subarray(0, oldSize) : old.subarray(0, newSize));
    this.arrays[h] = block;
    return h;
  }

  peakFootprint(): number {
    return NaN;
  }

  dispose(): void {
    this.arrays = [EMPTY];
    this.freeHandles = [];
  }
}

export const peer: PeerModule = {
  async attachWorker(): Promise<WorkerAllocator> {
    return new GcAllocator();
  },

  async load(): Promise<Peer> {
    return {
      name: "gc",
      description: "new Uint8Array(n) per allocation, reference dropped on free (V8's GC)",
      reallocNative: false,
      footprint: null,
      shareable: false,
      create: () => new GcAllocator(),
      iterationCap: (workload: string, quick: boolean) => {
        // ~0.5 M blocks/s across workers: the multi-worker rows at full length would take many seconds.
        if (workload.startsWith("larson_t")) return quick ? 25_000 : 50_000; // R, per worker and generation
        if (workload === "xthread") return quick ? 100_000 : 250_000; // N
        if (workload === "mid_large_mt") return quick ? 25_000 : 100_000; // N per worker
        // The single-worker rings too (0.4–1 M/s: three full-length runs per process would take ~10 s).
        if (workload.startsWith("random_mixed") || workload === "fixed_size" || workload === "memory") return quick ? 100_000 : 500_000;
        if (workload === "mid") return quick ? 50_000 : 200_000;
        if (workload === "realloc_grow" && quick) return 25; // rounds
        return undefined;
      },
      multi: {
        mode: "gc",
        how: "new Uint8Array per block in each worker; blocks cross workers only inside postMessage; free drops the reference",
      },
    };
  },
};
