/**
 * heap — one worker's handle on a heap: the public API, the fast paths of malloc and free, and
 * the slow paths behind them.
 *
 * Basic design: a Heap object is one worker's handle on a shared region. It owns, per size class,
 * a queue of pages (linked through the page entries); the first page of each queue is the
 * worker's "current" page of that class, kept in its thread slot inside the buffer.
 * - malloc(n < 1024): read the current page for that size from the thread slot, pop the page's
 *   free list.
 * - free(p): the page entry by arithmetic on p; if this worker owns the page, a division-free
 *   check that p starts a block of it, then push onto the page's free list.
 * Both read everything through one Int32Array over the whole buffer: in V8 each distinct typed
 * array costs its own loads of base, length and bounds check, so the fast paths touch only `i32`.
 * Everything else — empty lists, full pages, new pages, mid and large sizes, other workers'
 * blocks, bad input — is the slow path, reached by one failed test on the fast path.
 *
 * Invariants:
 * - The current page of a class (in the thread slot, see page_queues.ts) is the first page of
 *   this worker's queue for it, or the null entry (whose free list is always empty).
 * - A page with PG.OWNER = this worker's id is in this worker's queue or full list of its class.
 *   A page with no block in use and not first in its queue goes back to the span bins.
 * - Blocks of pages this worker does not own are freed onto the page's thread-free list; the
 *   owner collects it when its list runs dry, or, for a full page, when it next needs a page.
 * - `i32`, `u8`, `dataStart` and `dataBytes` mirror the region after its last refresh.
 * - The fast paths allocate no JS objects; neither do the slow paths except to throw.
 */

import { checkAlignment, checkPointerType, checkSize, describe, hex } from "./arguments.js";
import { Entry, H, HO, Kind, PF, PG, Page, T } from "./layout.js";
import type { HeapBuffer } from "./memory.js";
import type { HeapOptions } from "./options.js";
import { abandonPage, adoptAbandoned, collectThreadFree, extendPage, pagesOwnedBy, pushThreadFree } from "./pages.js";
import { PageQueues } from "./page_queues.js";
import { Region } from "./region.js";
import { takeOverLock } from "./lock.js";
import { acquireSpan, growSpanInPlace, releaseSpan, repairSpans, resetSpans, shrinkSpan } from "./segments.js";
import {
  CLASS_SIZE, CLASS_SPAN_PAGES, MID_MAX, NUM_CLASSES, blockIndex, classOf,
} from "./size_classes.js";
import { collectStats, type HeapStats } from "./stats.js";
import { checkRegion, type CheckReport } from "./heap_check.js";
import { markFree } from "./checked_blocks.js";
import { renderMap } from "./heap_map.js";
import { walkRegion, type BlockInfo } from "./heap_walk.js";
import * as typedViews from "./typed_views.js";
import type { StringBlock, TypedArray } from "./typed_views.js";

/** A typed-array constructor usable with {@link Heap.view}. */
export interface TypedArrayConstructor<T> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  readonly BYTES_PER_ELEMENT: number;
  readonly name: string;
}

/** Largest product count × size that calloc accepts: sizes are uint32 in the C sense. */
const MAX_CALLOC_BYTES = 0xffffffff;

/**
 * A heap of memory blocks inside one buffer, as seen by one worker. Create one with
 * {@link createHeap}. Pointers are byte offsets into {@link Heap.buffer}; 0 is null.
 */
export class Heap {
  protected readonly region: Region;
  protected readonly tid: number;
  /** Word index of this worker's thread slot, and of its current page per class. */
  private readonly slot: number;
  private readonly currentWord: number;
  private readonly bySizeWord: number;
  protected readonly queues: PageQueues;
  /** Per class, an empty page kept queued for reuse, or 0 (see pageWake). */
  private readonly spare = new Int32Array(NUM_CLASSES);
  private readonly shared: boolean;
  /** Checked mode (checked_blocks.ts): set for every worker of a heap created with `check`. */
  protected readonly checked: boolean;
  private readonly nullEntry: number;
  private readonly pageBias: number;
  private readonly dataStart: number;
  private dataBytes: number;
  /** Word of the header's mapped page count, and the count this worker's views cover. */
  private readonly mappedWord: number;
  private mappedPages: number;
  protected i32: Int32Array;
  protected bytes: Uint8Array;
  private disposed = false;

  /** @internal Use {@link createHeap}. */
  constructor(region: Region) {
    this.region = region;
    this.slot = region.claimThreadSlot();
    this.tid = region.i32[this.slot + T.TID]!;
    this.currentWord = this.slot + T.CURRENT;
    this.bySizeWord = this.slot + T.BY_SIZE;
    this.queues = new PageQueues(this.currentWord, this.bySizeWord, region.nullEntry);
    this.shared = region.memory.shared;
    this.checked = (region.i32[region.hdr + H.OPTIONS]! & HO.CHECKED) !== 0;
    this.nullEntry = region.nullEntry;
    this.pageBias = region.pageBias;
    this.dataStart = region.dataStart;
    this.dataBytes = region.mappedPages * Page.SIZE;
    this.mappedWord = region.hdr + H.MAPPED_PAGES;
    this.mappedPages = region.mappedPages;
    this.i32 = region.i32;
    this.bytes = region.u8;
  }

  /** The buffer that pointers index. It changes when a WebAssembly.Memory grows: re-read it. */
  get buffer(): HeapBuffer {
    return this.region.memory.buffer;
  }

  /**
   * A byte view over the whole current buffer. Re-read it after any call that may grow the heap
   * (on a shared heap, growth by any worker).
   */
  get u8(): Uint8Array {
    // Another worker's growth shows in the header's mapped page count (a plain read suffices: a
    // pointer handed over from that worker arrives after the count was written). Over a detached
    // buffer (a non-shared WebAssembly.Memory that someone else grew) the read gives undefined.
    if (this.i32[this.mappedWord] !== this.mappedPages) this.syncViews();
    return this.bytes;
  }

  /** This worker's thread id in the heap (1 for the worker that created it). */
  get threadId(): number {
    return this.tid;
  }

  /**
   * Allocates `size` bytes and returns the block's byte offset, or 0 when the heap cannot hold
   * it (full, and it cannot grow). `malloc(0)` returns a unique block. Blocks are 8-byte aligned,
   * 16-byte aligned from 16 bytes up, and not zeroed.
   * @throws TypeError / RangeError when `size` is not a non-negative safe integer.
   */
  malloc(size: number): number {
    const i32 = this.i32;
    // One test admits exactly the integers 0..1023: NaN, fractions, negatives, strings and
    // larger sizes all fail it and take the generic path, which checks them.
    if (typeof size === "number" && (size & 1023) === size) {
      const e = i32[this.bySizeWord + ((size + 7) >>> 3)]!;
      // Over a detached buffer the reads give undefined, which `| 0` sends to the slow path.
      const b = i32[e + PG.FREE]! | 0;
      if (b !== 0) {
        i32[e + PG.FREE] = i32[b >>> 2]!;
        i32[e + PG.USED] = i32[e + PG.USED]! + 1;
        return b >>> 0;
      }
      return this.mallocSlow(classOf(size));
    }
    return this.mallocGeneric(size);
  }

  /**
   * Frees the block at `ptr`. `free(0)` does nothing.
   * @throws RangeError when `ptr` is not the start of a live block of this heap (outside the
   * heap, inside a block, or in a page not in use); the heap is left unchanged.
   */
  free(ptr: number): void {
    // ownBlock() and freeOwn(), written out: through calls they cost 9–12 % more instructions
    // per random_mixed iteration (callgrind, W = 256: 417 and 426 against 382).
    const i32 = this.i32;
    if (typeof ptr === "number" && (ptr >>> 0) === ptr && ((ptr - this.dataStart) >>> 0) < this.dataBytes) {
      const e = i32[((ptr >>> Page.SHIFT) << Entry.SHIFT) + this.pageBias]!;
      if (i32[e + PG.OWNER] === this.tid) {
        const y = Math.imul((ptr - ((e - this.pageBias) << 12)) | 0, i32[e + PG.INV]!);
        const s = i32[e + PG.SHIFT]!;
        if (((y >>> s) | (y << (32 - s))) >>> 0 < i32[e + PG.RESERVED]!) {
          i32[ptr >>> 2] = i32[e + PG.FREE]!;
          i32[e + PG.FREE] = ptr;
          const used = i32[e + PG.USED]! - 1;
          i32[e + PG.USED] = used;
          // The page became empty, or a full page got enough blocks back (see PG.WAKE).
          if (used === 0) this.pageWake(e);
          return;
        }
      }
    }
    this.freeSlow(ptr);
  }

  /**
   * Pushes block `ptr` of this worker's page `e`, already validated (ownBlock), onto the page's
   * free list. For subclasses that validate first; free() has its own copy inline.
   */
  protected freeOwn(ptr: number, e: number): void {
    const i32 = this.i32;
    i32[ptr >>> 2] = i32[e + PG.FREE]!;
    i32[e + PG.FREE] = ptr;
    const used = i32[e + PG.USED]! - 1;
    i32[e + PG.USED] = used;
    // The page became empty, or a full page got enough blocks back (see PG.WAKE).
    if (used === 0) this.pageWake(e);
  }

  /**
   * The page entry of `ptr` when it is the start of a carved block of a small page this worker
   * owns, else 0 (anything else — 0, other workers' blocks, large blocks, bad input — is for the
   * slow path to sort out). The free fast path's whole test.
   */
  protected ownBlock(ptr: number): number {
    const i32 = this.i32;
    if (typeof ptr === "number" && (ptr >>> 0) === ptr && ((ptr - this.dataStart) >>> 0) < this.dataBytes) {
      const e = i32[((ptr >>> Page.SHIFT) << Entry.SHIFT) + this.pageBias]!;
      // Only a small page of ours carries our id (large blocks and free spans carry 0).
      if (i32[e + PG.OWNER] === this.tid) {
        // ptr starts a block iff rotr(imul(offset, inv), shift) < blocks carved (size_classes.ts).
        // (e - pageBias) << 12 is the first byte of the head's page (entries are 16 words apart).
        const y = Math.imul((ptr - ((e - this.pageBias) << 12)) | 0, i32[e + PG.INV]!);
        const s = i32[e + PG.SHIFT]!;
        if (((y >>> s) | (y << (32 - s))) >>> 0 < i32[e + PG.RESERVED]!) return e;
      }
    }
    return 0;
  }


  /**
   * Allocates `count * size` bytes, zeroed. Returns 0 when the heap cannot hold them.
   * @throws RangeError when `count * size` exceeds 2^32 − 1 (the C overflow case), and on bad
   * arguments as {@link Heap.malloc}.
   */
  calloc(count: number, size: number): number {
    checkSize(count, "calloc(count, size): count");
    checkSize(size, "calloc(count, size): size");
    const bytes = count * size;
    if (bytes > MAX_CALLOC_BYTES) {
      throw new RangeError(`hakmem: calloc(${count}, ${size}): count × size = ${bytes} overflows 2^32 − 1 bytes`);
    }
    const p = this.malloc(bytes);
    if (p !== 0) this.bytes.fill(0, p, p + bytes);
    return p;
  }

  /**
   * Resizes the block at `ptr` to `size` bytes, keeping its contents up to the smaller size.
   * Stays in place when the block's size class (or page run) still fits. `realloc(0, n)` is
   * `malloc(n)`; `realloc(p, 0)` frees `p` and returns 0. Returns 0 when the heap cannot hold the
   * new size, leaving the old block untouched.
   * @throws as {@link Heap.free} for a bad `ptr`, as {@link Heap.malloc} for a bad `size`.
   */
  realloc(ptr: number, size: number): number {
    if (ptr === 0) return this.malloc(size);
    checkSize(size, "realloc(ptr, size): size");
    const e = this.locate(ptr, "realloc");
    if (size === 0) {
      this.free(ptr);
      return 0;
    }
    const i32 = this.i32;
    const cls = i32[e + PG.CLASS]!;
    let have: number;
    if (cls >= 0) {
      have = CLASS_SIZE[cls]!;
      if (size <= have && size >= have >>> 1) return ptr;
    } else {
      const pages = i32[e + PG.PAGES]!;
      have = pages * Page.SIZE;
      const want = Math.ceil(size / Page.SIZE);
      if (size > MID_MAX) {
        if (want === pages) return ptr;
        if (want < pages) {
          shrinkSpan(this.region, e, want);
          return ptr;
        }
        if (growSpanInPlace(this.region, e, want)) return ptr;
      }
    }
    const q = this.malloc(size);
    if (q === 0) return 0;
    this.bytes.copyWithin(q, ptr, ptr + Math.min(have, size));
    this.free(ptr);
    return q;
  }

  /**
   * Allocates `size` bytes at an address that is a multiple of `alignment` (a power of two up
   * to 2^31). Free the block with {@link Heap.free}. Returns 0 when the heap cannot hold it.
   * @throws TypeError / RangeError on a bad alignment or size.
   */
  alignedAlloc(alignment: number, size: number): number {
    checkAlignment(alignment, "alignedAlloc(alignment, size): alignment");
    checkSize(size, "alignedAlloc(alignment, size): size");
    this.ensureUsable("alignedAlloc");
    if (alignment <= 16) return this.allocate(Math.max(size, alignment));
    if (size <= MID_MAX && alignment <= Page.SIZE) {
      // Spans start 64 KiB aligned, so every block of a class whose size is a multiple of the
      // alignment is aligned.
      for (let c = classOf(Math.max(size, alignment)); c < NUM_CLASSES; c++) {
        if ((CLASS_SIZE[c]! & (alignment - 1)) === 0) return this.mallocClass(c);
      }
    }
    return this.mallocLarge(Math.max(size, 1), Math.max(1, alignment / Page.SIZE));
  }

  /**
   * The number of bytes usable in the block at `ptr` (at least what was requested). 0 for 0.
   * @throws RangeError as {@link Heap.free} for a pointer that is not a live block.
   */
  usableSize(ptr: number): number {
    if (ptr === 0) return 0;
    const e = this.locate(ptr, "usableSize");
    const cls = this.i32[e + PG.CLASS]!;
    return cls >= 0 ? CLASS_SIZE[cls]! : this.i32[e + PG.PAGES]! * Page.SIZE;
  }

  /**
   * A typed array of `length` elements over the block memory at `ptr`, e.g.
   * `heap.view(Float64Array, p, 8)`. `ptr` may point anywhere inside a live block; the view
   * must end within that block.
   * @throws RangeError when `ptr` is misaligned for the element type or the view leaves the block.
   */
  view<T>(type: TypedArrayConstructor<T>, ptr: number, length: number): T {
    checkSize(length, "view(type, ptr, length): length");
    checkPointerType(ptr, "view(type, ptr, length): ptr");
    const bpe = type.BYTES_PER_ELEMENT;
    if (ptr % bpe !== 0) {
      throw new RangeError(`hakmem: view(${type.name}, ${hex(ptr)}, ${length}): pointer is not a multiple of ${bpe}, as ${type.name} needs`);
    }
    const [start, bytes] = this.blockContaining(ptr);
    if (ptr + length * bpe > start + bytes) {
      throw new RangeError(
        `hakmem: view(${type.name}, ${hex(ptr)}, ${length}): ${length * bpe} bytes from the pointer run past the end of its block (${bytes} bytes at ${hex(start)})`,
      );
    }
    return new type(this.region.memory.buffer, ptr, length);
  }

  // ─── Typed arrays and strings in blocks (the logic is in typed_views.ts) ──────────────────

  /**
   * Allocates a block for `length` elements of `type` and returns a length-fixed typed array
   * over it, or null when the heap cannot hold it (as {@link Heap.malloc} returns 0). Not
   * zeroed. Any typed array fits a block's alignment. `mallocAs(type, 0)` gives an empty view
   * over a block of its own. Free it with {@link Heap.freeView}.
   *
   * The view is over {@link Heap.buffer} as it is now: over a non-shared `WebAssembly.Memory`,
   * growth detaches it; keep the pointer (`view.byteOffset`) and re-create views after growth.
   * @example
   * ```ts
   * const v = heap.mallocAs(Float64Array, 1000);
   * if (v === null) throw new Error("heap full");
   * v.fill(0.5);
   * heap.freeView(v);
   * ```
   * @throws TypeError when `type` is not a typed-array constructor; TypeError / RangeError naming
   * the type and the length when `length` is not a non-negative safe integer or its bytes
   * exceed 2^32 − 1.
   */
  mallocAs<T extends TypedArray>(type: TypedArrayConstructor<T>, length: number): T | null {
    return typedViews.mallocAs(this, type, length);
  }

  /**
   * {@link Heap.mallocAs} with every element zero (0, or 0n for the BigInt arrays), as
   * {@link Heap.calloc}. Null when the heap cannot hold it.
   * @example
   * ```ts
   * const counts = heap.callocAs(Uint32Array, 256);   // 256 zeros
   * if (counts === null) throw new Error("heap full");
   * for (const byte of new TextEncoder().encode("hello")) counts[byte]++;
   * heap.freeView(counts);
   * ```
   * @throws as {@link Heap.mallocAs}.
   */
  callocAs<T extends TypedArray>(type: TypedArrayConstructor<T>, length: number): T | null {
    return typedViews.callocAs(this, type, length);
  }

  /**
   * Resizes the block under `view` to `length` elements of the view's type and returns a new
   * view over it, keeping the elements up to the smaller length, as {@link Heap.realloc}: in
   * place when the block still fits, else moved (then `view` must no longer be used). Returns
   * null when the heap cannot hold the new size, leaving `view` and its block intact.
   * `reallocAs(view, 0)` gives an empty view over a block that still needs
   * {@link Heap.freeView} (unlike `realloc(p, 0)`, which frees: here null means "heap full").
   * @example
   * ```ts
   * let ids = heap.mallocAs(Int32Array, 4)!;
   * ids.set([1, 2, 3, 4]);
   * const grown = heap.reallocAs(ids, 1024);
   * if (grown === null) throw new Error("heap full");   // ids is still valid then
   * ids = grown;                                        // ids[0..3] are 1, 2, 3, 4
   * heap.freeView(ids);
   * ```
   * @throws TypeError when `view` is not a typed array; RangeError when it is not over this
   * heap's buffer or does not start a live block, and on a bad `length` (as
   * {@link Heap.mallocAs}). The errors name the view's type, length and pointer.
   */
  reallocAs<T extends TypedArray>(view: T, length: number): T | null {
    return typedViews.reallocAs(this, view, length);
  }

  /**
   * Frees the block under `view`, which must start at the block (a view from
   * {@link Heap.mallocAs}, {@link Heap.callocAs}, {@link Heap.reallocAs}, or {@link Heap.view}
   * at a block's start). `freeView(null)` does nothing, as `free(0)`.
   * @example
   * ```ts
   * const v = heap.mallocAs(Uint8Array, 64);
   * heap.freeView(v);   // v may be null (heap full): then nothing happens
   * ```
   * @throws TypeError when `view` is not a typed array; RangeError naming the view's type,
   * length and pointer when it is not over this heap's buffer or does not start a live block;
   * the heap is left unchanged.
   */
  freeView(view: TypedArray | null): void {
    typedViews.freeView(this, view);
  }

  /**
   * Copies `s` into a new block as UTF-8 (with `TextEncoder.encodeInto`, no terminating NUL)
   * and returns the block's pointer and byte length, for a WebAssembly module to read; null
   * when the heap cannot hold it. Unpaired surrogates become U+FFFD. The empty string gets a
   * block of its own. Free it with {@link Heap.free}.
   * @example
   * ```ts
   * const s = heap.allocString("grüße");   // { ptr, len: 7 }
   * if (s === null) throw new Error("heap full");
   * wasm.exports.takeString(s.ptr, s.len);
   * heap.free(s.ptr);
   * ```
   * @throws TypeError when `s` is not a string.
   */
  allocString(s: string): StringBlock | null {
    return typedViews.allocString(this, s);
  }

  /**
   * Decodes `len` bytes of UTF-8 at `ptr` into a string (invalid bytes become U+FFFD). The
   * bytes may lie anywhere in the buffer (a heap block, or a WebAssembly module's own data).
   * @example
   * ```ts
   * const ptr = wasm.exports.greeting();          // a pointer the module returns
   * const len = wasm.exports.greetingLength();
   * console.log(heap.readString(ptr, len));
   * ```
   * @throws TypeError / RangeError when `ptr` or `len` is not a non-negative integer, or the
   * bytes run past the end of the buffer.
   */
  readString(ptr: number, len: number): string {
    return typedViews.readString(this, ptr, len);
  }

  /**
   * Walks the whole heap and checks every invariant it can see: the segment and page tables,
   * every free list (inside its page, at block starts, without cycles), used counts against what
   * the lists imply, thread-free lists, statistics against the walk, and in checked mode every
   * live block's canary and every free block's pattern. Reports every violation, not only the
   * first; never throws for a corrupt heap. Exact when no other worker is allocating meanwhile.
   */
  check(): CheckReport {
    this.ensureUsable("check");
    this.syncViews();
    return checkRegion(this.region, this.checked);
  }

  /**
   * Calls `visitor` for every live block: its pointer, size (the requested size in checked mode,
   * else the usable size), size class (block size, or 0 for a large block) and owner thread id.
   * Do not allocate or free from the visitor. Exact when no other worker is allocating meanwhile.
   */
  walk(visitor: (block: BlockInfo) => void): void {
    this.ensureUsable("walk");
    this.syncViews();
    walkRegion(this.region, this.checked, visitor);
  }

  /**
   * An SVG picture of the heap: every segment and page, coloured by size class and shaded by how
   * full it is, with a legend. For a person looking for fragmentation.
   */
  renderMap(): string {
    this.ensureUsable("renderMap");
    this.syncViews();
    return renderMap(this.region);
  }

  /** A snapshot of the heap's statistics, counted by walking the page table. */
  stats(): HeapStats {
    this.ensureUsable("stats");
    this.syncViews();
    return collectStats(this.region);
  }

  /**
   * Frees every block at once: the heap returns to empty, keeping its buffer and its growth.
   * Every pointer obtained before is invalid afterwards.
   * @throws Error when other workers are attached to the heap.
   */
  reset(): void {
    this.ensureUsable("reset");
    const others = this.region.liveThreads().filter((t) => t !== this.tid);
    if (others.length > 0) {
      throw new Error(`hakmem: reset() while other workers (thread ids ${others.join(", ")}) are attached to the heap`);
    }
    this.syncViews();
    resetSpans(this.region);
    this.queues.clear(this.i32);
    this.spare.fill(0);
  }

  /**
   * A structured-cloneable description of the heap, for {@link attachHeap} in another worker:
   * `worker.postMessage(heap.handle())`.
   * @throws TypeError when the heap is not in shared memory.
   */
  handle(): HeapHandle {
    this.ensureUsable("handle");
    if (!this.shared) {
      throw new TypeError(
        `hakmem: handle(): this heap lives in a non-shared ${this.region.memory.kind}, which other workers cannot see; ` +
          "create it with { shared: true } or over a SharedArrayBuffer or a shared WebAssembly.Memory",
      );
    }
    return { memory: this.region.memory.source as SharedArrayBuffer | WebAssembly.Memory, base: this.region.base };
  }

  /**
   * Ends this worker's use of the heap. Its blocks stay valid and can be freed by any worker;
   * its pages are abandoned, and other workers adopt them when they need pages of the same size.
   * Every later call on this object throws.
   */
  dispose(): void {
    if (this.disposed) return;
    this.syncViews();
    const i32 = this.i32;
    this.queues.forEach(i32, (e) => this.abandonPage(e));
    this.queues.clear(i32);
    this.spare.fill(0);
    this.disposed = true;
    this.dataBytes = 0;
    this.region.releaseThreadSlot(this.slot);
  }

  /**
   * Returns to the heap every page that holds no block in use: this worker's own (including its
   * current pages) and abandoned ones, after collecting the blocks other workers freed into them.
   * Abandoned pages that still hold blocks stay abandoned. Returns the number of pages released.
   * Call it after freeing much, or before reading {@link Heap.stats} for leaks.
   */
  collect(): number {
    this.ensureUsable("collect");
    this.syncViews();
    let released = 0;
    const q = this.queues;
    q.forEach(this.i32, (e, cls) => {
      const i32 = this.i32;
      collectThreadFree(i32, e);
      const full = (i32[e + PG.FLAGS]! & PF.FULL) !== 0;
      if (i32[e + PG.USED]! + i32[e + PG.WAKE]! !== 0) {
        // A full page that got its blocks back here would miss free's wake-up test: requeue it.
        if (full && i32[e + PG.USED]! <= 0) {
          this.unfull(e, cls);
          q.pushBack(i32, e, cls);
        }
        return;
      }
      if (full) this.unfull(e, cls);
      else q.remove(i32, e, cls);
      if (this.spare[cls] === e) this.spare[cls] = 0;
      this.releasePage(e);
      released++;
    });
    const keep: number[] = [];
    for (let cls = 0; cls < NUM_CLASSES; cls++) {
      for (let e = adoptAbandoned(this.region, cls, this.tid); e !== 0; e = adoptAbandoned(this.region, cls, this.tid)) {
        collectThreadFree(this.i32, e);
        if (this.i32[e + PG.USED] === 0) {
          this.releasePage(e);
          released++;
        } else {
          keep.push(e);
        }
      }
    }
    for (const e of keep) abandonPage(this.region, e);
    return released;
  }

  /**
   * Takes over the pages of a worker that ended without {@link Heap.dispose} (for instance one
   * stopped by `worker.terminate()`): they are abandoned as if it had disposed, so their blocks
   * can be freed and their pages reused. If it was stopped while holding the heap lock, the lock
   * is freed and the span tables are rebuilt. Call it only for a worker that has ended. Returns
   * the number of pages taken over.
   * @throws RangeError when `threadId` is this worker's own id.
   */
  reclaimThread(threadId: number): number {
    this.ensureUsable("reclaimThread");
    if (!Number.isInteger(threadId) || threadId <= 0) {
      throw new RangeError(`hakmem: reclaimThread(threadId): threadId must be a positive integer, got ${describe(threadId)}`);
    }
    if (threadId === this.tid) throw new RangeError(`hakmem: reclaimThread(${threadId}): that is this worker's own thread id`);
    this.syncViews();
    const rg = this.region;
    // Stopped inside the heap lock: free it, and rebuild what its operation may have left half done.
    if (takeOverLock(this.i32, rg.hdr + H.LOCK, threadId, this.tid)) repairSpans(rg);
    const pages = pagesOwnedBy(rg, threadId);
    for (const e of pages) this.abandonPage(e);
    const slot = rg.slotOfThread(threadId);
    if (slot >= 0) rg.releaseThreadSlot(slot);
    return pages.length;
  }

  // ─── Slow paths ─────────────────────────────────────────────────────────────────────────

  /** malloc of anything but an integer below 1024: mid sizes first, as they are common. */
  private mallocGeneric(size: number): number {
    if (typeof size === "number" && (size >>> 0) === size && size <= MID_MAX) return this.mallocClass(classOf(size));
    checkSize(size, "malloc(size)");
    this.ensureUsable("malloc");
    return this.allocate(size);
  }

  /** malloc of a size already checked. */
  private allocate(size: number): number {
    return size <= MID_MAX ? this.mallocClass(classOf(size)) : this.mallocLarge(size, 1);
  }

  /** Pops a block of class `cls` from the current page, or takes the slow path. */
  private mallocClass(cls: number): number {
    const i32 = this.i32;
    const e = i32[this.currentWord + cls]!;
    const b = i32[e + PG.FREE]! | 0; // see malloc
    if (b !== 0) {
      i32[e + PG.FREE] = i32[b >>> 2]!;
      i32[e + PG.USED] = i32[e + PG.USED]! + 1;
      return b >>> 0;
    }
    return this.mallocSlow(cls);
  }

  /**
   * The current page of `cls` has an empty free list. In order: refill it (blocks other workers
   * freed, then never-used blocks); move on to the next page of the queue; wake a full page that
   * other workers freed into; adopt an abandoned page; take a new span.
   */
  private mallocSlow(cls: number): number {
    this.ensureUsable("malloc");
    const q = this.queues;
    for (;;) {
      let i32 = this.i32;
      let e = q.current(i32, cls);
      if (e === this.spare[cls]) this.spare[cls] = 0; // in service again
      if (e === this.nullEntry) {
        e = this.findPage(cls);
        if (e === 0) return 0;
        i32 = this.i32;
      }
      if (i32[e + PG.FREE] === 0 && collectThreadFree(i32, e) === 0) {
        if (extendPage(i32, e, cls) === 0) {
          // Full: to the full list until an eighth of its blocks come back, so that it serves a
          // run of mallocs when it is current again. The count still to come back moves from
          // PG.USED to PG.WAKE, so that free's one test (PG.USED reaching 0) catches the moment.
          q.remove(i32, e, cls);
          q.pushFull(i32, e, cls);
          const capacity = i32[e + PG.CAPACITY]!;
          const wake = capacity - Math.max(1, capacity >>> 3);
          i32[e + PG.WAKE] = wake;
          i32[e + PG.USED] = i32[e + PG.USED]! - wake;
          continue;
        }
        // Fresh blocks look freed in checked mode, so that every reuse can be verified alike.
        if (this.checked) {
          for (let b = i32[e + PG.FREE]!; b !== 0; b = i32[b >>> 2]!) markFree(i32, b >>> 0, CLASS_SIZE[cls]!);
        }
      }
      const b = i32[e + PG.FREE]!;
      i32[e + PG.FREE] = i32[b >>> 2]!;
      i32[e + PG.USED] = i32[e + PG.USED]! + 1;
      return b >>> 0;
    }
  }

  /**
   * The queue of `cls` is empty: finds a page with free blocks and queues it first. Returns its
   * entry, or 0 when the heap is exhausted.
   */
  private findPage(cls: number): number {
    const q = this.queues;
    let i32 = this.i32;
    // Full pages that other workers freed into (this is how an owner with only full pages learns
    // of remote frees): collecting makes them non-full.
    for (let e = q.firstFull(cls); e !== 0; e = i32[e + PG.NEXT]!) {
      if (Atomics.load(i32, e + PG.THREAD_FREE) !== 0) {
        this.unfull(e, cls);
        collectThreadFree(i32, e);
        q.pushFront(i32, e, cls);
        return e;
      }
    }
    const adopted = adoptAbandoned(this.region, cls, this.tid);
    if (adopted !== 0) {
      this.syncViews();
      i32 = this.i32;
      collectThreadFree(i32, adopted);
      if (i32[adopted + PG.USED] === 0) {
        this.releasePage(adopted);
        return this.findPage(cls);
      }
      q.pushFront(i32, adopted, cls);
      return adopted;
    }
    const e = acquireSpan(this.region, CLASS_SPAN_PAGES[cls]!, cls, 1, this.tid);
    this.syncViews();
    i32 = this.i32;
    if (e === 0) {
      // Exhausted: a full page still waiting for an eighth of its blocks may have some back.
      for (let f = q.firstFull(cls); f !== 0; f = i32[f + PG.NEXT]!) {
        if (i32[f + PG.FREE] !== 0) {
          this.unfull(f, cls);
          q.pushFront(i32, f, cls);
          return f;
        }
      }
      return 0;
    }
    q.pushFront(i32, e, cls);
    return e;
  }

  private mallocLarge(size: number, alignPages: number): number {
    const pages = Math.ceil(size / Page.SIZE);
    if (pages > this.i32[this.region.hdr + H.MAX_PAGES]!) return 0;
    const e = acquireSpan(this.region, pages, Kind.LARGE, alignPages);
    this.syncViews();
    return e === 0 ? 0 : this.i32[e + PG.START]! >>> 0;
  }

  /**
   * The owner freed a block into page `e` and PG.USED fell to 0: a full page has room again and
   * rejoins its queue; an empty page that is not current goes back to the span bins.
   */
  private pageWake(e: number): void {
    const i32 = this.i32;
    const cls = i32[e + PG.CLASS]!;
    if ((i32[e + PG.FLAGS]! & PF.FULL) !== 0) {
      this.unfull(e, cls);
      if (i32[e + PG.USED] === 0) this.releasePage(e);
      else this.queues.pushBack(i32, e, cls);
    } else if (this.queues.current(i32, cls) !== e) {
      // Keep one empty page per class queued (last) as a spare: a class whose live count hovers
      // around a page boundary would otherwise give a span back and take it again in a loop.
      this.queues.remove(i32, e, cls);
      if (this.spare[cls] === 0) {
        this.spare[cls] = e;
        this.queues.pushBack(i32, e, cls);
      } else {
        this.releasePage(e);
      }
    }
  }

  /** Takes full page `e` out of its full list, restoring its true PG.USED. */
  private unfull(e: number, cls: number): void {
    const i32 = this.i32;
    this.queues.removeFull(i32, e, cls);
    i32[e + PG.USED] = i32[e + PG.USED]! + i32[e + PG.WAKE]!;
    i32[e + PG.WAKE] = 0;
  }

  /** Gives page `e` (owned, in no list, no block in use) back to the span bins. */
  private releasePage(e: number): void {
    // PG.USED counts blocks on the thread-free list too, so an empty page has none there.
    Atomics.store(this.i32, e + PG.OWNER, 0);
    releaseSpan(this.region, e);
  }

  /**
   * Leaves page `e` (out of any list of its owner) to whoever needs a page of its class next: an
   * empty page goes back to the bins; any other becomes ownerless in the abandoned list, and its
   * blocks are freed into its thread-free list meanwhile.
   */
  private abandonPage(e: number): void {
    const i32 = this.i32;
    collectThreadFree(i32, e);
    i32[e + PG.USED] = i32[e + PG.USED]! + i32[e + PG.WAKE]!;
    i32[e + PG.WAKE] = 0;
    i32[e + PG.FLAGS] = 0;
    if (i32[e + PG.USED] === 0) {
      this.releasePage(e);
      return;
    }
    abandonPage(this.region, e);
  }

  private freeSlow(ptr: number): void {
    if (ptr === 0) return;
    const e = this.locate(ptr, "free");
    const i32 = this.i32;
    const cls = i32[e + PG.CLASS]!;
    if (cls === Kind.LARGE) {
      releaseSpan(this.region, e);
      return;
    }
    if (i32[e + PG.OWNER] !== this.tid) {
      pushThreadFree(i32, e, ptr);
      return;
    }
    // locate() accepted it and we own it: the fast path's tests must have seen stale views.
    this.free(ptr);
  }

  /**
   * Checks that `ptr` is the start of a live block and returns its span's head entry.
   * @throws TypeError / RangeError naming the pointer and what is wrong with it.
   */
  protected locate(ptr: number, fn: string): number {
    if (!(typeof ptr === "number" && (ptr >>> 0) === ptr)) checkPointerType(ptr, `${fn}(ptr)`); // throws
    this.ensureUsable(fn);
    const e = this.spanOf(ptr);
    if (e === 0) {
      throw new RangeError(
        `hakmem: ${fn}(${hex(ptr)}): pointer outside the heap (blocks lie in [${hex(this.dataStart)}, ${hex(this.dataStart + this.dataBytes)}))`,
      );
    }
    const i32 = this.i32;
    const cls = i32[e + PG.CLASS]!;
    const start = i32[e + PG.START]! >>> 0;
    if (cls === Kind.LARGE) {
      if (ptr === start && ptr < start + i32[e + PG.PAGES]! * Page.SIZE) return e;
      if (ptr >= start && ptr < start + i32[e + PG.PAGES]! * Page.SIZE) {
        throw new RangeError(
          `hakmem: ${fn}(${hex(ptr)}): interior pointer: it lies ${ptr - start} bytes inside the large block at ${hex(start)} (${this.pageName(ptr)}); pass the block's start`,
        );
      }
    } else if (cls >= 0) {
      const offset = (ptr - start) | 0;
      if (offset >= 0 && blockIndex(cls, offset) < i32[e + PG.RESERVED]!) return e;
      const size = CLASS_SIZE[cls]!;
      const index = Math.floor(offset / size);
      if (offset >= 0 && index < i32[e + PG.RESERVED]!) {
        throw new RangeError(
          `hakmem: ${fn}(${hex(ptr)}): interior pointer: it lies ${offset - index * size} bytes inside the ${size}-byte block at ${hex(start + index * size)} (${this.pageName(ptr)}, class ${size} B); pass the block's start`,
        );
      }
    }
    throw new RangeError(
      `hakmem: ${fn}(${hex(ptr)}): no block of this heap starts there (${this.pageName(ptr)} is ${cls === Kind.FREE ? "free" : "not in use at that address"}): a pointer already freed, or not from this heap`,
    );
  }

  /** "page N" for the page holding `ptr`, for messages. */
  private pageName(ptr: number): string {
    return `page ${this.region.pageOfEntry(((ptr >>> Page.SHIFT) << Entry.SHIFT) + this.pageBias)}`;
  }

  /**
   * Head entry of the span holding byte `ptr`, with views that cover the whole span (another
   * worker's growth may have extended it past this worker's views); 0 when `ptr` lies outside.
   */
  private spanOf(ptr: number): number {
    if (((ptr - this.dataStart) >>> 0) >= this.dataBytes) this.syncViews();
    if (((ptr - this.dataStart) >>> 0) >= this.dataBytes) return 0;
    const e = this.i32[((ptr >>> Page.SHIFT) << Entry.SHIFT) + this.pageBias]!;
    if ((this.i32[e + PG.START]! >>> 0) + this.i32[e + PG.PAGES]! * Page.SIZE > this.dataStart + this.dataBytes) this.syncViews();
    return e;
  }

  /** Start and usable size of the live block containing `ptr` (any byte of it). */
  protected blockContaining(ptr: number): [number, number] {
    this.ensureUsable("view");
    const e = this.spanOf(ptr);
    if (e !== 0) {
      const i32 = this.i32;
      const cls = i32[e + PG.CLASS]!;
      const start = i32[e + PG.START]! >>> 0;
      if (cls === Kind.LARGE) {
        const bytes = i32[e + PG.PAGES]! * Page.SIZE;
        if (ptr >= start && ptr < start + bytes) return [start, bytes];
      } else if (cls >= 0) {
        const size = CLASS_SIZE[cls]!;
        const index = Math.floor((ptr - start) / size);
        if (ptr >= start && index < i32[e + PG.RESERVED]!) return [start + index * size, size];
      }
    }
    throw new RangeError(`hakmem: view(${hex(ptr)}): the pointer is not inside a block of this heap`);
  }

  /**
   * Throws when the heap was disposed; re-creates the views when their buffer was detached (a
   * non-shared WebAssembly.Memory that someone else grew). Every slow path starts here.
   */
  protected ensureUsable(fn: string): void {
    if (this.disposed) throw new Error(`hakmem: ${fn}() on a disposed heap`);
    if (this.i32.length === 0) this.syncViews();
  }

  /** Copies the region's views and limits after growth (ours or another worker's). */
  protected syncViews(): void {
    const rg = this.region;
    rg.sync();
    this.i32 = rg.i32;
    this.bytes = rg.u8;
    this.mappedPages = rg.mappedPages;
    if (!this.disposed) this.dataBytes = rg.mappedPages * Page.SIZE;
  }
}

/** What {@link Heap.handle} gives and {@link attachHeap} takes: structured-cloneable. */
export interface HeapHandle {
  /** The shared memory the heap lives in. */
  memory: SharedArrayBuffer | WebAssembly.Memory;
  /** Byte offset of the heap's region (its header) in that memory. */
  base: number;
}

export type { HeapOptions, HeapStats };
