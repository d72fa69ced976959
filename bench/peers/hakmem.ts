/**
 * hakmem — this project's allocator, driven through its public API (src/index.ts).
 *
 * Variants (one per output row):
 *   hakmem          createHeap()                          default options, non-shared growable buffer
 *   hakmem-shared   createHeap({ shared: true })          growable SharedArrayBuffer
 *   hakmem-checked  createHeap({ shared: false, check: true })  checked mode; only with --checked,
 *                   skipped (with a note) while createHeap rejects the `check` option
 * malloc/free are heap.malloc/heap.free; byte writes go through `heap.u8` read at each write (the
 * getter returns the view current after any growth).
 * realloc: heap.realloc when the heap has one, else emulated (malloc + copyWithin + free).
 * Footprint: `heap.stats().peakHeapBytes` (bytes of pages in use at the peak).
 */

import { createHeap } from "../../src/index.js";
import { PeerSkipped, type BenchAllocator, type Peer, type PeerModule } from "./types.js";

type Heap = ReturnType<typeof createHeap>;
type HeapOptions = NonNullable<Parameters<typeof createHeap>[0]>;
/** heap.realloc, when the heap has one (the agreed API does not promise it yet). */
interface WithRealloc {
  realloc(p: number, size: number): number;
}

class HakmemAllocator implements BenchAllocator {
  readonly hasRealloc: boolean;

  constructor(private readonly heap: Heap) {
    this.hasRealloc = typeof (heap as { realloc?: unknown }).realloc === "function";
  }

  malloc(size: number): number {
    return this.heap.malloc(size);
  }

  free(p: number): void {
    this.heap.free(p);
  }

  write(p: number, offset: number, value: number): void {
    this.heap.u8[p + offset] = value;
  }

  realloc(p: number, oldSize: number, newSize: number): number {
    if (this.hasRealloc) return (this.heap as unknown as WithRealloc).realloc(p, newSize);
    const q = this.heap.malloc(newSize);
    if (q === 0) return 0;
    this.heap.u8.copyWithin(q, p, p + (oldSize < newSize ? oldSize : newSize));
    this.heap.free(p);
    return q;
  }

  peakFootprint(): number {
    return this.heap.stats().peakHeapBytes;
  }

  dispose(): void {
    this.heap.dispose();
  }
}

function makeHeap(variant: string): Heap {
  switch (variant) {
    case "default":
      return createHeap();
    case "shared":
      return createHeap({ shared: true });
    case "checked": {
      // Not an object literal: the options type may not declare `check` yet (see the header).
      const options = { shared: false, check: true };
      try {
        return createHeap(options as HeapOptions);
      } catch (err) {
        throw new PeerSkipped(`skipped: createHeap rejected { check: true } (${err instanceof Error ? err.message : String(err)})`);
      }
    }
    default:
      throw new Error(`hakmem: unknown variant ${variant}`);
  }
}

const NAMES: Record<string, string> = { default: "hakmem", shared: "hakmem-shared", checked: "hakmem-checked" };
const DESCRIPTIONS: Record<string, string> = {
  default: "hakmem createHeap() (non-shared growable buffer)",
  shared: "hakmem createHeap({ shared: true }) (growable SharedArrayBuffer)",
  checked: "hakmem createHeap({ check: true }) (checked mode)",
};

export const peer: PeerModule = {
  async load(variant: string): Promise<Peer> {
    const probe = new HakmemAllocator(makeHeap(variant)); // also validates the options
    const reallocNative = probe.hasRealloc;
    probe.dispose();
    return {
      name: NAMES[variant] ?? variant,
      description: DESCRIPTIONS[variant] ?? variant,
      reallocNative,
      footprint: "stats().peakHeapBytes",
      shareable: variant === "shared",
      create: () => new HakmemAllocator(makeHeap(variant)),
    };
  },
};
