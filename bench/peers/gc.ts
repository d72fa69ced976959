/**
 * gc — the garbage collector as an allocator: `new Uint8Array(n)` per allocation, the reference
 * dropped on free (what JS code does when it does not use an allocator).
 *
 * Handles are indices into a table of live arrays so that the workloads can treat every peer alike;
 * freed indices are recycled from a stack. The table costs a few ns per operation against ~1 µs of
 * `new Uint8Array` above 64 bytes (DESIGN.md §5), and is part of the measured time.
 * realloc is emulated: a new array plus a copy of the old contents (`set`), the old one dropped.
 * Footprint: n/a (the GC's heap is not attributable to one workload).
 */

import type { BenchAllocator, Peer, PeerModule } from "./types.js";

const EMPTY = new Uint8Array(0);

class GcAllocator implements BenchAllocator {
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
  async load(): Promise<Peer> {
    return {
      name: "gc",
      description: "new Uint8Array(n) per allocation, reference dropped on free (V8's GC)",
      reallocNative: false,
      footprint: null,
      shareable: false,
      create: () => new GcAllocator(),
    };
  },
};
