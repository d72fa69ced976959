/**
 * heap — one worker's handle on a heap: the public API, the fast paths of malloc and free, and
 * the slow paths behind them.
 *
 * Basic design: a Heap object is one worker's handle on a shared region. It keeps, per size class,
 * a thread cache of free blocks (thread_cache.ts: a LIFO list in its thread slot) in front of the
 * pages it owns (thread_pages.ts).
 * - malloc(n < 1024): the class from the class table, pop the class's cache list.
 * - free(p): the page entry by arithmetic on p; if this worker owns the page, a division-free
 *   check that p starts a block of it and a look at the block's free key (a double free), then a
 *   push onto the class's cache list.
 * Both read everything through one Int32Array over the whole buffer: in V8 each distinct typed
 * array costs its own loads of base, length and bounds check, so the fast paths touch only `i32`.
 * Everything else — an empty or full cache, mid and large sizes, other workers' blocks, double
 * frees, bad input — is the slow path, reached by one failed test on the fast path.
 *
 * Invariants:
 * - Every block in this worker's cache belongs to a page it owns; every free block anywhere holds
 *   the heap's free key in its word Block.KEY, and malloc clears it.
 * - Blocks of pages this worker does not own are freed onto the page's thread-free list; the
 *   owner collects it when its page runs dry.
 * - `i32`, `bytes`, `dataStart` and `dataBytes` mirror the region after its last refresh.
 * - The fast paths allocate no JS objects; neither do the slow paths except to throw.
 */

import { checkAlignment, checkPointerType, checkSize, describe, hex } from "./arguments.js";
import { Block, Entry, H, HO, Kind, PG, Page, T, TC, Tag, ThreadState } from "./layout.js";
import { holdLivenessLock } from "./liveness.js";
import type { HeapBuffer } from "./memory.js";
import { NO_SHARED_MEMORY_HELP, type HeapOptions } from "./options.js";
import { listHolds, pushThreadFree } from "./pages.js";
import { Region } from "./region.js";
import { takeOverLock } from "./lock.js";
import { acquireSpan, growSpanInPlace, releaseSpan, repairSpans, resetSpans, shrinkSpan } from "./segments.js";
import { CLASS_CAPACITY, CLASS_SIZE, MID_MAX, NUM_CLASSES, blockIndex, classOf } from "./size_classes.js";
import { ThreadCache, cacheWord, initCache, returnCacheOf } from "./thread_cache.js";
import { ThreadPages } from "./thread_pages.js";
import { collectStats, type HeapStats } from "./stats.js";
import { checkRegion, type CheckReport } from "./heap_check.js";
import { renderMap } from "./heap_map.js";
import { walkRegion, type BlockInfo } from "./heap_walk.js";
import * as typedViews from "./typed_views.js";
import type { StringBlock, TypedArray } from "./typed_views.js";

/** A typed-array constructor usable with {@link Heap.view}. */
export interface TypedArrayConstructor<T> {
  new (buffer: ArrayBufferLike, byteOffset: number, length: number): T;
  /** Bytes per element: the alignment a pointer must have for it. */
  readonly BYTES_PER_ELEMENT: number;
  /** The constructor's name ("Float64Array"), for error messages. */
  readonly name: string;
}

/** MID_MAX as a literal for the malloc fast path (an imported const is a live binding V8 checks). */
const enum Limits {
  MID_SIZE = 262144,
}
if (Limits.MID_SIZE !== MID_MAX) throw new Error("hakmem: heap.ts: Limits.MID_SIZE must equal MID_MAX");

/** Largest product count × size that calloc accepts: sizes are uint32 in the C sense. */
const MAX_CALLOC_BYTES = 0xffffffff;

/**
 * A heap of memory blocks inside one buffer, as seen by one worker. Create one with
 * {@link createHeap}. Pointers are byte offsets into {@link Heap.buffer}; 0 is null.
 */
export class Heap {
  protected readonly region: Region;
  protected readonly tid: number;
  /** Word index of this worker's thread slot, and of its thread cache (class c at cacheWord + 2c). */
  private readonly slot: number;
  private readonly cacheWord: number;
  /** Word index of the size → class table in the buffer. */
  private readonly classWord: number;
  /** This worker's thread slot number, which PG.TAG names the owner of a page by. */
  private readonly slotNo: number;
  /** The heap's free key (H.FREE_KEY), held by every free block in its word Block.KEY. */
  protected readonly key: number;
  protected readonly pages: ThreadPages;
  protected readonly cache: ThreadCache;
  private readonly shared: boolean;
  /** Checked mode (checked_blocks.ts): set for every worker of a heap created with `check`. */
  protected readonly checked: boolean;
  /** Its complete variant (every byte), not the fast one. */
  protected readonly checkAll: boolean;
  /** Word index of the segment directory, and log2 of the segment size (layout.ts). */
  private readonly dirWord: number;
  private readonly segShift: number;
  private readonly dataStart: number;
  private dataBytes: number;
  /** Word of the header's mapped page count, and the count this worker's views cover. */
  private readonly mappedWord: number;
  private mappedPages: number;
  protected i32: Int32Array;
  protected bytes: Uint8Array;
  private disposed = false;
  /** Releases this worker's liveness lock (liveness.ts), where the runtime has Web Locks. */
  private readonly releaseLiveness: (() => void) | undefined;

  /** @internal Use {@link createHeap}. */
  constructor(region: Region) {
    this.region = region;
    this.slot = region.claimThreadSlot();
    this.tid = region.i32[this.slot + T.TID]!;
    this.slotNo = region.slotNo;
    this.cacheWord = cacheWord(this.slot, 0);
    this.classWord = region.classTableWord;
    this.key = region.i32[region.hdr + H.FREE_KEY]!;
    this.shared = region.memory.shared;
    this.checked = (region.i32[region.hdr + H.OPTIONS]! & HO.CHECKED) !== 0;
    this.checkAll = this.checked && (region.i32[region.hdr + H.OPTIONS]! & HO.COMPLETE) !== 0;
    this.pages = new ThreadPages(region, this.slot, this.key, this.checked, this.checkAll);
    this.cache = new ThreadCache(region, this.slot, this.pages, this.key);
    region.releaseIdle = () => this.releaseIdle();
    this.dirWord = region.dirWord;
    this.segShift = region.segmentShift;
    this.dataStart = region.dataStart;
    this.dataBytes = region.mappedPages * Page.SIZE;
    this.mappedWord = region.hdr + H.MAPPED_PAGES;
    this.mappedPages = region.mappedPages;
    this.i32 = region.i32;
    this.bytes = region.u8;
    const { slot, tid } = this;
    this.releaseLiveness = holdLivenessLock(this.heapId, tid, () => {
      // Unless the thread has left the slot meanwhile (a late mark would name an old thread id,
      // which no reclaimer of the slot's new thread takes for a grant).
      if (Atomics.load(region.i32, slot + T.TID) === tid) Atomics.store(region.i32, slot + T.LIVENESS, tid);
    });
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
    let cls: number;
    // One test admits exactly the integers 0..1023: NaN, fractions, negatives, strings and
    // larger sizes all fail it and take the generic path, which checks them.
    if (typeof size === "number" && (size & 1023) === size) {
      cls = i32[(this.classWord + ((size + 7) >>> 3)) | 0]!;
    } else if (typeof size === "number" && (size >>> 0) === size && size <= Limits.MID_SIZE) {
      // classOf() for mid sizes, written out: in (2^k, 2^(k+1)] classes step by 2^(k-3).
      const k = 31 - Math.clz32(size - 1);
      cls = (9 + ((k - 7) << 3) + ((size - 1 - (1 << k)) >>> (k - 3))) | 0;
    } else {
      return this.mallocGeneric(size);
    }
    const c = (this.cacheWord + (cls << 1)) | 0;
    // Over a detached buffer the reads give undefined, which `| 0` sends to the slow path.
    const b = i32[c + TC.HEAD]! | 0;
    if (b !== 0) {
      const w = b >>> 2;
      i32[c + TC.HEAD] = i32[w]!;
      i32[(w + Block.KEY) | 0] = 0;
      i32[(c + TC.ROOM) | 0] = (i32[(c + TC.ROOM) | 0]! + 1) | 0;
      return b >>> 0;
    }
    return this.mallocSlow(classOf(size));
  }

  /**
   * Frees the block at `ptr`. `free(0)` does nothing.
   * @throws RangeError when `ptr` is not the start of a live block of this heap (outside the
   * heap, inside a block, in a page not in use, or already freed); the heap is left unchanged.
   */
  free(ptr: number): void {
    // ownBlock() and the push of pushOwn(), written out: through calls they cost 9–12 % more
    // instructions per random_mixed iteration (callgrind).
    const i32 = this.i32;
    if (typeof ptr === "number" && (ptr >>> 0) === ptr && ((ptr - this.dataStart) >>> 0) < this.dataBytes) {
      // The page entry: the segment directory gives the bias of the arena's table (layout.ts).
      const bias = i32[(this.dirWord + ((ptr - this.dataStart) >>> this.segShift)) | 0]!;
      const e = i32[(((ptr >>> Page.SHIFT) << Entry.SHIFT) + bias) | 0]!;
      // One word tells "a small page of mine", its class and its division shift (layout.ts Tag).
      const tag = i32[(e + PG.TAG) | 0]!;
      if (tag >>> Tag.SLOT === this.slotNo) {
        // ptr starts a block iff rotr(imul(offset, inv), shift) < blocks carved (size_classes.ts).
        // (e - bias) << Page.START_SHIFT is the first byte of the head's page.
        const y = Math.imul((ptr - ((e - bias) << Page.START_SHIFT)) | 0, i32[(e + PG.INV) | 0]!);
        const s = (tag >>> Tag.SHIFT) & Tag.SHIFT_MASK;
        const w = ptr >>> 2;
        // A block holding the free key is free already, or holds it by chance: the slow path tells.
        if (((y >>> s) | (y << (32 - s))) >>> 0 < i32[(e + PG.RESERVED) | 0]! && i32[(w + Block.KEY) | 0] !== this.key) {
          const cls = tag & Tag.CLASS_MASK;
          const c = (this.cacheWord + (cls << 1)) | 0;
          const room = i32[(c + TC.ROOM) | 0]!;
          if (room > 0) {
            i32[w] = i32[c + TC.HEAD]!;
            i32[(w + Block.KEY) | 0] = this.key;
            i32[c + TC.HEAD] = ptr;
            i32[(c + TC.ROOM) | 0] = (room - 1) | 0;
          } else {
            this.cache.pushDraining(ptr, cls);
          }
          return;
        }
      }
    }
    this.freeSlow(ptr);
  }

  /**
   * Frees block `ptr` of this worker's page `e`, already validated (and not free): onto the
   * class's cache list, draining it first when it has no room.
   */
  protected pushOwn(ptr: number, e: number): void {
    const i32 = this.i32;
    const cls = i32[e + PG.CLASS]!;
    const c = this.cacheWord + (cls << 1);
    const room = i32[c + TC.ROOM]!;
    if (room > 0) {
      i32[ptr >>> 2] = i32[c + TC.HEAD]!;
      i32[(ptr >>> 2) + Block.KEY] = this.key;
      i32[c + TC.HEAD] = ptr;
      i32[c + TC.ROOM] = room - 1;
    } else {
      this.cache.pushDraining(ptr, cls);
    }
  }

  /**
   * The page entry of `ptr` when it is the start of a carved block of a small page this worker
   * owns, else 0 (anything else — 0, other workers' blocks, large blocks, bad input — is for the
   * slow path to sort out). The free fast path's test, for checked mode.
   */
  protected ownBlock(ptr: number): number {
    const i32 = this.i32;
    if (typeof ptr === "number" && (ptr >>> 0) === ptr && ((ptr - this.dataStart) >>> 0) < this.dataBytes) {
      const e = i32[this.region.entryOf(ptr)]!;
      if (i32[e + PG.OWNER] === this.tid) {
        const y = Math.imul((ptr - (i32[e + PG.START]! >>> 0)) | 0, i32[e + PG.INV]!);
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
      // Spans start 8 KiB aligned (on a page), so every block of a class whose size is a multiple of the
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
    this.pages.forgetAll();
    initCache(this.i32, this.slot);
  }

  /**
   * A structured-cloneable description of the heap, for {@link attachHeap} in another worker:
   * `worker.postMessage(heap.handle())`.
   * @throws TypeError when the heap is not in shared memory.
   */
  handle(): HeapHandle {
    this.ensureUsable("handle");
    if (!this.shared) {
      const fix =
        typeof SharedArrayBuffer === "undefined"
          ? `this context has no SharedArrayBuffer, so createHeap() could only make a non-shared buffer: ${NO_SHARED_MEMORY_HELP}`
          : "create it with { shared: true } or over a SharedArrayBuffer or a shared WebAssembly.Memory";
      throw new TypeError(`hakmem: handle(): this heap lives in a non-shared ${this.region.memory.kind}, which other workers cannot see; ${fix}`);
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
    this.cache.flush();
    this.pages.abandonAll();
    this.disposed = true;
    // The fast paths read nothing from here on (undefined sends malloc to the slow path, a zero
    // range sends free there), and both throw: the slot may soon be another worker's.
    this.dataBytes = 0;
    this.i32 = new Int32Array(0);
    this.region.releaseThreadSlot(this.slot);
    this.releaseLiveness?.();
  }

  /**
   * Returns to the heap every page that holds no block in use: this worker's own (including its
   * current pages, after its thread cache went back into them) and abandoned ones, after
   * collecting the blocks other workers freed into them. Abandoned pages that still hold blocks
   * stay abandoned. Returns the number of pages released. Call it after freeing much, or before
   * reading {@link Heap.stats} for leaks.
   */
  collect(): number {
    this.ensureUsable("collect");
    this.syncViews();
    return this.releaseIdle();
  }

  /** collect() without its checks; also what a span request tries before the buffer grows. */
  private releaseIdle(): number {
    this.cache.flush();
    return this.pages.releaseEmpty() + this.pages.releaseAbandonedEmpty();
  }

  /**
   * Takes over the pages of a worker that ended without {@link Heap.dispose} (for instance one
   * stopped by `worker.terminate()`): the blocks of its thread cache go back to its pages, and the
   * pages are abandoned as if it had disposed, so their blocks can be freed and their pages reused.
   * If it was stopped while holding the heap lock, the lock is freed and the span tables are
   * rebuilt. Returns the number of pages taken over.
   *
   * Only for a worker that can no longer run: `terminate()` stops a worker only some time later
   * (about 2 s for a busy Chromium worker), and a reclaim before that would hand its pages to others
   * while it still allocates from them. {@link reclaimWhenGone} waits for that moment in every
   * runtime and is the call to use. This one refuses a worker not known to have ended, unless
   * `options.ended` says it has (in Node: after `await worker.terminate()`, or on its `exit` event).
   * @throws RangeError when `threadId` is not a positive integer or is this worker's own id;
   * Error when the worker may still be running.
   */
  reclaimThread(threadId: number, options: { ended?: boolean } = {}): number {
    this.checkReclaimable(threadId, "reclaimThread");
    this.syncViews();
    const rg = this.region;
    const slot = rg.slotOfThread(threadId);
    this.adoptViews(); // slotOfThread may have refreshed the region's views
    if (slot >= 0 && Atomics.load(this.i32, slot + T.STATE) === ThreadState.ALIVE) {
      if (options.ended !== true) {
        throw new Error(
          `hakmem: reclaimThread(${threadId}): thread ${threadId} may still be running. Worker.terminate() stops a worker only some time later ` +
            "(about 2 s for a busy Web Worker), and taking its pages before would corrupt the heap. " +
            `Use \`await reclaimWhenGone(heap, worker, ${threadId})\`, which waits until it has ended; or, when you know it has ended ` +
            `(Node: after \`await worker.terminate()\` or on its "exit" event), \`heap.reclaimThread(${threadId}, { ended: true })\``,
        );
      }
      Atomics.compareExchange(this.i32, slot + T.STATE, ThreadState.ALIVE, ThreadState.ENDED);
    }
    // One reclaimer per thread: a second one (two survivors awaiting reclaimWhenGone) leaves it.
    if (slot >= 0 && Atomics.compareExchange(this.i32, slot + T.STATE, ThreadState.ENDED, ThreadState.RECLAIMING) !== ThreadState.ENDED) return 0;
    // Stopped inside the heap lock: free it, and rebuild what its operation may have left half done.
    if (takeOverLock(this.i32, rg.hdr + H.LOCK, threadId, this.tid)) repairSpans(rg);
    try {
      if (slot >= 0) {
        returnCacheOf(rg, slot, threadId);
        rg.clearCurrentPages(slot);
      }
      const pages = this.pages.abandonThread(threadId);
      if (slot >= 0) rg.releaseThreadSlot(slot);
      return pages;
    } catch (err) {
      // The heap lock could not be had (lock.ts): a call again takes up the pages still its.
      if (slot >= 0) Atomics.store(rg.i32, slot + T.STATE, ThreadState.ENDED);
      throw err;
    }
  }

  /**
   * @internal Checks a thread id given to reclaimThread or reclaimWhenGone (`fn`).
   * @throws RangeError when it is not a positive integer or is this worker's own.
   */
  checkReclaimable(threadId: number, fn: string): void {
    this.ensureUsable(fn);
    if (!Number.isInteger(threadId) || threadId <= 0) {
      throw new RangeError(`hakmem: ${fn}(threadId): threadId must be a positive integer, got ${describe(threadId)}`);
    }
    if (threadId === this.tid) throw new RangeError(`hakmem: ${fn}(${threadId}): that is this worker's own thread id`);
  }

  /**
   * @internal Whether the liveness lock of thread `threadId` is known to have been held: the lock
   * manager granted it (T.LIVENESS), or the thread has left the heap (dispose, reclaim). Either
   * way, that lock not held now means the thread can no longer run (liveness.ts).
   */
  livenessGranted(threadId: number): boolean {
    const slot = this.region.slotOfThread(threadId);
    return slot < 0 || Atomics.load(this.region.i32, slot + T.LIVENESS) === threadId;
  }

  /**
   * @internal What emscripten/fast_path.ts hands a module's C malloc and free (in its order):
   * where this worker's cache lists lie and the words free's test reads. Null in a DebugHeap,
   * whose calls must all reach JS.
   */
  fastPathWords(): number[] | null {
    return [this.cacheWord, this.classWord, this.dirWord, this.dataStart, this.segShift, this.slotNo, this.key, this.mappedWord];
  }

  /** @internal The heap's random id (H.HEAP_ID), shared by all its workers: names its Web Locks. */
  get heapId(): number {
    return this.region.i32[this.region.hdr + H.HEAP_ID]!;
  }

  // ─── Slow paths ─────────────────────────────────────────────────────────────────────────

  /** malloc of anything but a size up to MID_MAX: large sizes and bad arguments. */
  private mallocGeneric(size: number): number {
    checkSize(size, "malloc(size)");
    this.ensureUsable("malloc");
    return this.allocate(size);
  }

  /** malloc of a size already checked. */
  private allocate(size: number): number {
    return size <= MID_MAX ? this.mallocClass(classOf(size)) : this.mallocLarge(size, 1);
  }

  /** Pops a block of class `cls` from the cache (the mid sizes' fast path), or takes the slow path. */
  private mallocClass(cls: number): number {
    const i32 = this.i32;
    const c = this.cacheWord + (cls << 1);
    const b = i32[c + TC.HEAD]! | 0; // see malloc
    if (b !== 0) {
      const w = b >>> 2;
      i32[c + TC.HEAD] = i32[w]!;
      i32[w + Block.KEY] = 0;
      i32[c + TC.ROOM] = i32[c + TC.ROOM]! + 1;
      return b >>> 0;
    }
    return this.mallocSlow(cls);
  }

  /** The cache of `cls` is empty: refills it from a page and hands out one of the blocks. */
  private mallocSlow(cls: number): number {
    const b = this.refill(cls);
    if (b !== 0) this.i32[(b >>> 2) + Block.KEY] = 0;
    return b;
  }

  /**
   * A free block of class `cls` off the cache, its free key still in place (checked mode verifies
   * it before handing the block out), or 0 when the heap is exhausted.
   */
  protected takeBlock(cls: number): number {
    const i32 = this.i32;
    const c = this.cacheWord + (cls << 1);
    const b = i32[c + TC.HEAD]! | 0; // see malloc
    if (b !== 0) {
      i32[c + TC.HEAD] = i32[b >>> 2]!;
      i32[c + TC.ROOM] = i32[c + TC.ROOM]! + 1;
      return b >>> 0;
    }
    return this.refill(cls);
  }

  /** Refills the empty cache of `cls`; returns one more block (free key in place), or 0. */
  private refill(cls: number): number {
    if (this.disposed) this.ensureUsable("malloc"); // throws
    // Growth by another worker, or a detached buffer (the read gives undefined): views first.
    if (this.i32[this.mappedWord] !== this.mappedPages) this.syncViews();
    const b = this.cache.refill(cls);
    if (this.region.i32 !== this.i32 || this.region.mappedPages !== this.mappedPages) this.adoptViews(); // it grew the buffer
    return b;
  }

  private mallocLarge(size: number, alignPages: number): number {
    const pages = Math.ceil(size / Page.SIZE);
    if (pages > this.i32[this.region.hdr + H.MAX_PAGES]!) return 0;
    const e = acquireSpan(this.region, pages, Kind.LARGE, alignPages);
    this.syncViews();
    return e === 0 ? 0 : this.i32[e + PG.START]! >>> 0;
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
    if (Atomics.load(i32, e + PG.OWNER) !== this.tid) {
      // Another worker's page (or an abandoned one): onto its thread-free list, unless already free.
      if (!pushThreadFree(i32, e, ptr, this.key)) {
        this.confirmDoubleFree(ptr, e, cls);
        // On no list: a live block whose word held the key by chance (its bytes are ours now).
        Atomics.store(i32, (ptr >>> 2) + Block.KEY, 0);
        if (!pushThreadFree(i32, e, ptr, this.key)) this.throwDoubleFree(ptr, e, "freed by another worker at the same moment");
      }
      return;
    }
    if (i32[(ptr >>> 2) + Block.KEY] === this.key) this.confirmDoubleFree(ptr, e, cls);
    this.pushOwn(ptr, e);
  }

  /**
   * Block `ptr` (small page `e`, class `cls`) holds the free key: throws the double free when it
   * is on a free list or in a thread cache. Another worker's lists may change while they are
   * walked, so they are walked up to three times; a block that leaves the key meanwhile was free
   * and handed out again.
   */
  private confirmDoubleFree(ptr: number, e: number, cls: number): void {
    const i32 = this.i32;
    const rounds = Atomics.load(i32, e + PG.OWNER) === this.tid ? 1 : 3;
    for (let r = 0; r < rounds; r++) {
      const where = this.whereFree(ptr, e, cls);
      if (where !== "") this.throwDoubleFree(ptr, e, where);
      if (Atomics.load(i32, (ptr >>> 2) + Block.KEY) !== this.key) this.throwDoubleFree(ptr, e, "it was handed out again meanwhile");
    }
  }

  /**
   * Where the block `ptr` (of the small page `e`, class `cls`) lies free: "in the thread cache of
   * thread N", "on its page's free list", "on its page's thread-free list", or "" when it is on
   * none (a live block whose word Block.KEY holds the free key by chance). Lists of other workers
   * may change meanwhile; the walks are bounded and only read.
   */
  private whereFree(ptr: number, e: number, cls: number): string {
    const i32 = this.i32;
    const capacity = CLASS_CAPACITY[cls]!;
    if (listHolds(i32, Atomics.load(i32, e + PG.THREAD_FREE), ptr, capacity)) return "on its page's thread-free list";
    if (listHolds(i32, i32[e + PG.FREE]!, ptr, capacity)) return "on its page's free list";
    const owner = Atomics.load(i32, e + PG.OWNER);
    if (owner === this.tid) return this.cache.holds(cls, ptr) ? `in the thread cache of this worker (thread ${owner})` : "";
    const slot = owner === 0 ? -1 : this.region.slotOfThread(owner);
    const views = this.region.i32; // slotOfThread may have refreshed them
    if (slot >= 0 && listHolds(views, views[cacheWord(slot, cls) + TC.HEAD]!, ptr, capacity)) return `in the thread cache of thread ${owner}`;
    return "";
  }

  private throwDoubleFree(ptr: number, e: number, where: string): never {
    const cls = this.i32[e + PG.CLASS]!;
    throw new RangeError(
      `hakmem: free(${hex(ptr)}): double free: the ${CLASS_SIZE[cls]}-byte block is already free (${where || "it holds the heap's free mark"}; ${this.pageName(ptr)}); it was freed before, possibly by another worker`,
    );
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
      `hakmem: ${fn}(${hex(ptr)}): no block of this heap starts there (${this.pageName(ptr)} is ${cls === Kind.FREE ? "free" : "not in use at that address"}): a double free, or a pointer not from this heap`,
    );
  }

  /** "page N" for the page holding `ptr`, for messages. */
  private pageName(ptr: number): string {
    return `page ${(ptr >>> Page.SHIFT) - this.region.firstPage}`;
  }

  /**
   * Head entry of the span holding byte `ptr`, with views that cover the whole span (another
   * worker's growth may have extended it past this worker's views); 0 when `ptr` lies outside.
   */
  private spanOf(ptr: number): number {
    if (((ptr - this.dataStart) >>> 0) >= this.dataBytes) this.syncViews();
    if (((ptr - this.dataStart) >>> 0) >= this.dataBytes) return 0;
    const e = this.i32[this.region.entryOf(ptr)]!;
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
    if (this.region.memory.replaced()) this.syncViews();
  }

  /** Copies the region's views and limits after growth (ours or another worker's). */
  protected syncViews(): void {
    this.region.sync();
    this.adoptViews();
  }

  /** Copies the region's views and limits, as they are (after growth by this worker). */
  private adoptViews(): void {
    if (this.disposed) return;
    const rg = this.region;
    this.i32 = rg.i32;
    this.bytes = rg.u8;
    this.mappedPages = rg.mappedPages;
    this.dataBytes = rg.mappedPages * Page.SIZE;
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
