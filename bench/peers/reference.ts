/**
 * reference — the speed-of-light reference: about the fastest a single-threaded allocator written
 * in plain JavaScript can go. It is the practical speed limit hakmem is measured against, not an
 * allocator to use: no checks, no statistics, no sharing between workers, memory never returned.
 *
 * - Size classes: 16-byte steps up to 1 KiB (64 classes, one table read), then 4 KiB steps up to
 *   64 KiB (16 classes; a 1025-byte request takes a 4 KiB block). Requests above 64 KiB get 0.
 * - Pages of 64 KiB are bump-allocated from one big ArrayBuffer (page 0 is skipped so that 0 is
 *   null); a fresh page is carved whole into the free list of the class that asked for it.
 * - Free lists are intrusive: the next pointer lives in the first 4 bytes of each free block.
 * - free is headerless: the class of a block is `pageClass[p >>> 16]`, a per-page class map.
 * - realloc stays in place while the new size fits the class, else moves (copying the class size).
 * - Footprint: bytes of pages taken (exact: pages are never given back).
 * - Multi-worker workloads ("single" mode, peers/types.ts): it cannot be shared, so it runs only
 *   larson_t1, in one worker that does every round itself (no hand-over).
 */

import type { BenchAllocator, Peer, PeerModule, WorkerAllocator } from "./types.js";

const PAGE_SHIFT = 16;
const PAGE_SIZE = 1 << PAGE_SHIFT;
const SMALL_MAX = 1024;
const MID_MAX = 65536;
const NUM_CLASSES = 64 + 16;
/** Class of each request size 0..SMALL_MAX: ceil(size / 16) - 1 (size 0 gets a 16-byte block). */
const SMALL_CLASS = Uint8Array.from({ length: SMALL_MAX + 1 }, (_, s) => Math.max(0, ((s + 15) >>> 4) - 1));
/** Block size of each class. */
const CLASS_SIZE = Int32Array.from({ length: NUM_CLASSES }, (_, c) => (c < 64 ? (c + 1) << 4 : (c - 63) << 12));

export class ReferenceAllocator implements BenchAllocator, WorkerAllocator {
  readonly u8: Uint8Array;
  private readonly i32: Int32Array;
  private readonly heads = new Int32Array(NUM_CLASSES);
  private readonly pageClass: Uint8Array;
  private top = PAGE_SIZE;
  private readonly limit: number;

  constructor(bytes = 256 << 20) {
    const buffer = new ArrayBuffer(bytes);
    this.u8 = new Uint8Array(buffer);
    this.i32 = new Int32Array(buffer);
    this.pageClass = new Uint8Array(bytes >>> PAGE_SHIFT);
    this.limit = bytes;
  }

  malloc(size: number): number {
    if (size > MID_MAX) return 0;
    const c = size <= SMALL_MAX ? SMALL_CLASS[size] : 63 + ((size + 4095) >>> 12);
    const p = this.heads[c];
    if (p === 0) return this.refill(c);
    this.heads[c] = this.i32[p >>> 2];
    return p;
  }

  free(p: number): void {
    const c = this.pageClass[p >>> PAGE_SHIFT];
    this.i32[p >>> 2] = this.heads[c];
    this.heads[c] = p;
  }

  /** Slow path: carve a fresh page into blocks of class `c`; return the first, list the rest. */
  private refill(c: number): number {
    const page = this.top;
    if (page + PAGE_SIZE > this.limit) return 0;
    this.top = page + PAGE_SIZE;
    this.pageClass[page >>> PAGE_SHIFT] = c;
    const size = CLASS_SIZE[c];
    const last = page + (((PAGE_SIZE / size) | 0) - 1) * size;
    for (let b = page + size; b < last; b += size) this.i32[b >>> 2] = b + size;
    if (last > page) this.i32[last >>> 2] = 0;
    this.heads[c] = last > page ? page + size : 0;
    return page;
  }

  realloc(p: number, _oldSize: number, size: number): number {
    const usable = CLASS_SIZE[this.pageClass[p >>> PAGE_SHIFT]];
    if (size <= usable) return p;
    const q = this.malloc(size);
    if (q === 0) return 0;
    this.u8.copyWithin(q, p, p + usable);
    this.free(p);
    return q;
  }

  write(p: number, offset: number, value: number): void {
    this.u8[p + offset] = value;
  }

  read(p: number, offset: number): number {
    return this.u8[p + offset];
  }

  peakFootprint(): number {
    return this.top - PAGE_SIZE;
  }

  dispose(): void {}
}

export const peer: PeerModule = {
  async attachWorker(): Promise<WorkerAllocator> {
    return new ReferenceAllocator();
  },

  async load(): Promise<Peer> {
    return {
      name: "reference",
      description: "minimal size-class free list in plain TS (bench/peers/reference.ts): the practical speed limit",
      reallocNative: true,
      footprint: "64 KiB pages taken from its ArrayBuffer",
      shareable: false,
      create: () => new ReferenceAllocator(),
      multi: { mode: "single", how: "not shareable: one worker with a private instance does every round (larson_t1 only)" },
    };
  },
};
