/**
 * thi.ng — @thi.ng/malloc's MemPool over a 256 MiB ArrayBuffer (default options: 8-byte alignment,
 * block splitting and compaction on).
 *
 * MemPool keeps its used blocks and its free blocks in address-ordered linked lists: malloc walks
 * the free list (first fit) and free walks the used list to find the block, so both cost O(live
 * blocks). It is far too slow for the full workloads; `iterationCap` shortens them (the output
 * says so, and its figures are then for a smaller N than the other peers').
 * realloc: MemPool's own.
 * Footprint: the high-water mark of MemPool's `top` (end of its bump region, state word 2 of the
 * pool header at byte 0), read after every malloc/realloc — one typed-array read, noise next to
 * MemPool's list walks.
 */

import { MemPool } from "@thi.ng/malloc";
import type { BenchAllocator, Peer, PeerModule } from "./types.js";

const POOL_BYTES = 256 << 20;
/** Index of the `top` word in MemPool's state header (STATE_TOP in @thi.ng/malloc's pool.js). */
const STATE_TOP = 2;

class ThingAllocator implements BenchAllocator {
  private readonly pool = new MemPool({ size: POOL_BYTES });
  private readonly u8 = new Uint8Array(this.pool.buf);
  private readonly state = new Uint32Array(this.pool.buf, 0, 7);
  private peakTop = 0;

  malloc(size: number): number {
    const p = this.pool.malloc(size);
    const top = this.state[STATE_TOP];
    if (top > this.peakTop) this.peakTop = top;
    return p;
  }

  free(p: number): void {
    this.pool.free(p);
  }

  write(p: number, offset: number, value: number): void {
    this.u8[p + offset] = value;
  }

  realloc(p: number, _oldSize: number, newSize: number): number {
    const q = this.pool.realloc(p, newSize);
    const top = this.state[STATE_TOP];
    if (top > this.peakTop) this.peakTop = top;
    return q;
  }

  peakFootprint(): number {
    return this.peakTop;
  }

  dispose(): void {
    this.pool.release();
  }
}

/**
 * Iterations run instead of the workload's own (absent: the full workload), chosen so one run takes
 * about a second on a 2-core machine (each process runs it three times: two warm-up runs, then the
 * timed one). MemPool's cost grows with the number of live blocks,
 * so a shortened run on a big ring (its ring only partly filled) flatters it. Measured rates here:
 * W = 256 rings ~300 k/s and mid ~200 k/s flat; W = 4096 falls from ~90 k/s at N = 5,000 to
 * ~23 k/s at N = 40,000; W = 65,536 (memory) to ~13 k/s at N = 40,000 and still falling.
 * realloc_grow slows down round after round on one instance (fragmentation: 65 k calls/s in the
 * first round, 3 k/s by the 16th), and the steady-state method runs a dozen rounds before the
 * timed ones.
 */
const CAPS: Record<string, { full: number; quick: number }> = {
  random_mixed: { full: 25_000, quick: 10_000 },
  random_mixed_w256: { full: 200_000, quick: 50_000 },
  fixed_size: { full: 25_000, quick: 10_000 },
  memory: { full: 20_000, quick: 5_000 },
  mid: { full: 200_000, quick: 50_000 },
  realloc_grow: { full: 5, quick: 2 },
};

export const peer: PeerModule = {
  async load(): Promise<Peer> {
    return {
      name: "thi.ng",
      description: "@thi.ng/malloc MemPool (first-fit address-ordered lists), 256 MiB ArrayBuffer",
      reallocNative: true,
      footprint: "high-water mark of MemPool's top pointer",
      shareable: false,
      create: () => new ThingAllocator(),
      iterationCap(workload: string, quick: boolean): number | undefined {
        const cap = CAPS[workload];
        return cap === undefined ? undefined : quick ? cap.quick : cap.full;
      },
    };
  },
};
