/**
 * hakmem — this project's allocator, driven through its public API (src/index.ts).
 *
 * Variants (one per output row):
 *   hakmem            createHeap()                    default options: a growable SharedArrayBuffer
 *   hakmem-nonshared  createHeap({ shared: false })   a resizable ArrayBuffer (V8 reads typed arrays
 *                                                     over resizable buffers more slowly)
 *   hakmem-checked    createHeap({ check: true })     checked mode; only with --checked
 * malloc/free are heap.malloc/heap.free; byte writes go through `heap.u8` read at each write (the
 * getter returns the view current after any growth).
 * realloc: heap.realloc when the heap has one, else emulated (malloc + copyWithin + free).
 * Footprint: `heap.stats().peakHeapBytes` (bytes of pages in use at the peak); mapped:
 * `heap.stats().mappedBytes` (metadata and every data page backed by the buffer, used or cached).
 * Multi-worker workloads ("shared" mode, peers/types.ts): the child's main thread creates the heap
 * as above and passes `heap.handle()` to the workers; each worker `attachHeap(handle)`s (its own
 * thread heap, same Heap class and fast paths) and `dispose()`s when done. Not for
 * hakmem-nonshared (no handle over a non-shared buffer). Byte access there goes through a view
 * cached in the adapter, re-read from `heap.u8` only when the offset lies beyond it — the heap
 * grew since, by this worker or another (a buffer never shrinks and a grown SharedArrayBuffer
 * keeps old views valid; a detached one has length 0, so this is exact). Reading `heap.u8` on
 * every access, as the single-worker adapter does, cost 2.5× in larson's loop, which touches
 * bytes four times per operation (5 vs 13 M ops/s on one worker): an adapter cost, not the
 * allocator's.
 */

import { attachHeap, createHeap, type HeapHandle } from "../../src/index.js";
import { type BenchAllocator, type Peer, type PeerModule, type SharedInstance, type WorkerAllocator } from "./types.js";

type Heap = ReturnType<typeof createHeap>;
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

  mappedBytes(): number {
    return this.heap.stats().mappedBytes;
  }

  heapMap(): string {
    return this.heap.renderMap();
  }

  dispose(): void {
    this.heap.dispose();
  }
}

function makeHeap(variant: string): Heap {
  switch (variant) {
    case "default":
      return createHeap();
    case "nonshared":
      return createHeap({ shared: false });
    case "checked":
      return createHeap({ check: true });
    default:
      throw new Error(`hakmem: unknown variant ${variant}`);
  }
}

const NAMES: Record<string, string> = { default: "hakmem", nonshared: "hakmem-nonshared", checked: "hakmem-checked" };
const DESCRIPTIONS: Record<string, string> = {
  default: "hakmem createHeap() (default options: growable SharedArrayBuffer)",
  nonshared: "hakmem createHeap({ shared: false }) (resizable ArrayBuffer)",
  checked: "hakmem createHeap({ check: true }) (checked mode)",
};

/** The adapter of the multi-worker workloads (see the header: the cached view). */
class HakmemWorkerAllocator implements WorkerAllocator {
  private u8: Uint8Array;

  constructor(private readonly heap: Heap) {
    this.u8 = heap.u8;
  }

  malloc(size: number): number {
    return this.heap.malloc(size);
  }

  free(p: number): void {
    this.heap.free(p);
  }

  write(p: number, offset: number, value: number): void {
    const i = p + offset;
    let u8 = this.u8;
    if (i >= u8.length) u8 = this.u8 = this.heap.u8;
    u8[i] = value;
  }

  read(p: number, offset: number): number {
    const i = p + offset;
    let u8 = this.u8;
    if (i >= u8.length) u8 = this.u8 = this.heap.u8;
    return u8[i]!;
  }

  dispose(): void {
    this.heap.dispose();
  }
}

function createShared(variant: string): SharedInstance {
  const heap = makeHeap(variant);
  const local = new HakmemWorkerAllocator(heap);
  return {
    handle: heap.handle(),
    local,
    peakFootprint: () => heap.stats().peakHeapBytes,
    mappedBytes: () => heap.stats().mappedBytes,
    liveBlocks: () => {
      heap.collect();
      return heap.stats().liveBlocks;
    },
    dispose: () => heap.dispose(),
  };
}

export const peer: PeerModule = {
  async attachWorker(variant: string, handle: unknown): Promise<WorkerAllocator> {
    // null: a private heap of the same class (a worker's warm-up).
    return new HakmemWorkerAllocator(handle === null ? makeHeap(variant) : attachHeap(handle as HeapHandle));
  },

  async load(variant: string): Promise<Peer> {
    const probe = new HakmemAllocator(makeHeap(variant)); // also validates the options
    const reallocNative = probe.hasRealloc;
    probe.dispose();
    return {
      name: NAMES[variant] ?? variant,
      description: DESCRIPTIONS[variant] ?? variant,
      reallocNative,
      footprint: "stats().peakHeapBytes",
      shareable: variant !== "nonshared",
      create: () => new HakmemAllocator(makeHeap(variant)),
      ...(variant !== "nonshared"
        ? {
            multi: {
              mode: "shared" as const,
              how: "one heap in a growable SharedArrayBuffer; each worker attachHeap(handle)s; blocks cross workers as numbers in shared Int32Arrays; dispose() at worker end",
              createShared: () => createShared(variant),
            },
          }
        : {}),
    };
  },
};
