/**
 * worker — one timed run of the browser benchmark (run.ts) in a module Web Worker: the
 * random_mixed ring (workloads/random_mixed.ts, the same loop the Node benchmark times) on one
 * allocator, two warm-up runs at 1/4 length first, on fresh instances. One allocator class per
 * worker keeps the loop's call sites monomorphic, as one per process does under Node.
 *
 * Peers (the adapters write the workload's byte through the allocator's view):
 * - reference: the speed-of-light free list (peers/reference.ts), its view a plain field;
 * - hakmem: createHeap() with the fast pattern of the README's Browsers section: a byte view
 *   cached in the adapter, re-read from `heap.u8` only when an offset lies past its end;
 * - hakmem-u8: the same, but reading `heap.u8` at every write (as the Node benchmark's adapter,
 *   peers/hakmem.ts, does).
 *
 * Message in: { peer, W, N, seed, minSize, sizeRange }; out: { iterations, seconds, checksum }
 * or { error }.
 */

import { createHeap, type Heap } from "../../src/index.js";
import { ReferenceAllocator } from "../peers/reference.js";
import type { BenchAllocator } from "../peers/types.js";
import { runRing } from "../workloads/random_mixed.js";

export interface BrowserRun {
  peer: string;
  W: number;
  N: number;
  seed: number;
  minSize: number;
  sizeRange: number;
}

/** hakmem with the view cached: the pattern the README recommends for hot loops. */
class CachedViewAllocator implements BenchAllocator {
  private u8: Uint8Array;

  constructor(protected readonly heap: Heap) {
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

  realloc(p: number, _oldSize: number, newSize: number): number {
    return this.heap.realloc(p, newSize);
  }

  peakFootprint(): number {
    return this.heap.stats().peakHeapBytes;
  }

  dispose(): void {
    this.heap.dispose();
  }
}

/** hakmem reading the `u8` getter at every write. */
class GetterAllocator extends CachedViewAllocator {
  override write(p: number, offset: number, value: number): void {
    this.heap.u8[p + offset] = value;
  }
}

function makeAllocator(peer: string): () => BenchAllocator {
  switch (peer) {
    case "reference":
      return () => new ReferenceAllocator();
    case "hakmem":
      return () => new CachedViewAllocator(createHeap());
    case "hakmem-u8":
      return () => new GetterAllocator(createHeap());
    default:
      throw new Error(`unknown peer ${peer}`);
  }
}

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

scope.onmessage = (e: MessageEvent) => {
  const r = e.data as BrowserRun;
  Promise.resolve()
    .then(() => {
      const create = makeAllocator(r.peer);
      for (let i = 0; i < 2; i++) {
        const warm = create();
        runRing(warm, r.W, r.N >>> 2, r.seed + 1 + i, r.minSize, r.sizeRange);
        warm.dispose();
      }
      const a = create();
      const out = runRing(a, r.W, r.N, r.seed, r.minSize, r.sizeRange);
      a.dispose();
      scope.postMessage(out);
    })
    .catch((err: unknown) => scope.postMessage({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
};
