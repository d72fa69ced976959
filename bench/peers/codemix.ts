/**
 * codemix — the npm package `malloc` (codemix/malloc 1.1): a best-fit allocator whose free blocks
 * live in a skip list ordered by size, with boundary tags for coalescing, over a 256 MiB ArrayBuffer.
 *
 * realloc: none in the package; emulated with alloc + copy of the old size (copyWithin) + free.
 * Footprint: the high-water mark of block ends (offset + requested size) seen by malloc. codemix
 * carves blocks from the low end of its free blocks, so this is the extent of the heap it touched
 * (a lower bound: it omits codemix's 8-byte rounding and 4-byte footer of the topmost block).
 * Tracking it is one compare per malloc, noise next to codemix's skip-list walk.
 * Its rings are shortened (`iterationCap`; the output says so).
 */

import Allocator from "malloc";
import type { BenchAllocator, Peer, PeerModule } from "./types.js";

const HEAP_BYTES = 256 << 20;
/** Iterations run instead of the workload's own, [full, --quick] (the output says "shortened"). */
const CAPS: Record<string, [number, number]> = {
  random_mixed: [1_000_000, 200_000],
  random_mixed_w256: [1_000_000, 200_000],
  fixed_size: [1_000_000, 200_000],
  memory: [500_000, 100_000],
};

class CodemixAllocator implements BenchAllocator {
  private readonly buffer = new ArrayBuffer(HEAP_BYTES);
  private readonly u8 = new Uint8Array(this.buffer);
  private readonly allocator = new Allocator(this.buffer);
  private highWater = 0;

  malloc(size: number): number {
    const p = this.allocator.alloc(size);
    const end = p + size;
    if (end > this.highWater) this.highWater = end;
    return p;
  }

  free(p: number): void {
    this.allocator.free(p);
  }

  write(p: number, offset: number, value: number): void {
    this.u8[p + offset] = value;
  }

  realloc(p: number, oldSize: number, newSize: number): number {
    const q = this.malloc(newSize);
    if (q === 0) return 0;
    this.u8.copyWithin(q, p, p + (oldSize < newSize ? oldSize : newSize));
    this.allocator.free(p);
    return q;
  }

  peakFootprint(): number {
    return this.highWater;
  }

  dispose(): void {}
}

export const peer: PeerModule = {
  async load(): Promise<Peer> {
    return {
      name: "codemix",
      description: "npm `malloc` (codemix) 1.1: skip-list best fit, 256 MiB ArrayBuffer",
      reallocNative: false,
      footprint: "high-water mark of block ends",
      shareable: false,
      create: () => new CodemixAllocator(),
      // ~1.5 M/s on the rings, 0.4 M/s on memory's 65,536 slots; each process runs the workload three times.
      iterationCap: (workload: string, quick: boolean) => CAPS[workload]?.[quick ? 1 : 0],
    };
  },
};
