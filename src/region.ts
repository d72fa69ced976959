/**
 * region — one worker's view of a heap's region: its geometry, read from or written to the
 * header; the typed views over the backing buffer; where page entries and thread slots are.
 *
 * Invariants:
 * - `i32` and `u8` are fixed-length views over the whole buffer as it was at the last
 *   `refreshViews()` (fixed-length views are ~10x faster than length-tracking ones on growable
 *   buffers in V8). Whoever grows the buffer, or learns that another worker did, calls
 *   `refreshViews()`; the thread heap then copies the views it caches.
 * - Geometry (first page, directories, limits) never changes after `format`.
 * - `mappedPages` is this worker's last reading of H.MAPPED_PAGES; only growth raises it. The
 *   segment directory is written for the segments of an arena before the arena is published
 *   (segments.ts grow), so every mapped page has its entry.
 * - A thread slot, once made, stays where it is; the thread directory only gains entries.
 */

import {
  Bins, CLASS_TABLE_WORDS, Entry, H, HEADER_BYTES, LAYOUT_VERSION, MAGIC, MAX_THREADS,
  NULL_ENTRY_BYTES, Kind, PG, Page, SLOTS_PER_PAGE, T, TC, THREAD_SLOT_WORDS, ThreadState,
} from "./layout.js";
import { lock, unlock } from "./lock.js";
import { LinearMemory } from "./memory.js";
import { acquireSpanLocked } from "./segments.js";
import { NUM_CLASSES, SMALL_CLASS } from "./size_classes.js";
import { initCache } from "./thread_cache.js";

/** Everything `format` needs to lay out a new heap. */
export interface RegionConfig {
  base: number;
  maxBytes: number;
  segmentShift: number;
}

/** Lock holder id of a worker that has no thread id yet (while createHeap lays out the heap). */
const NO_THREAD = 0x3fffffff;

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
}

/**
 * A random word (H.FREE_KEY, H.HEAP_ID), from the platform's cryptographic generator where there
 * is one (Node, browsers, Deno, Bun all have `crypto.getRandomValues`). Never 0, which a block
 * holding zeros would match.
 */
function randomWord(): number {
  const word = new Int32Array(1);
  const crypto = (globalThis as { crypto?: { getRandomValues(a: Int32Array): Int32Array } }).crypto;
  if (crypto !== undefined) crypto.getRandomValues(word);
  else word[0] = (Math.random() * 2 ** 32) | 0;
  return word[0] === 0 ? 0x5eed1e55 : word[0]!;
}

export class Region {
  readonly memory: LinearMemory;
  /** Byte offset of the region (and of its header) in the buffer. */
  readonly base: number;
  /** Word index of the header in `i32`. */
  readonly hdr: number;
  readonly maxBytes: number;
  readonly segmentShift: number;
  /** log2 of pages per segment. */
  readonly segmentPageShift: number;
  /** Absolute page number of the first data page. */
  readonly firstPage: number;
  /** Data pages the region can ever hold. */
  readonly maxPages: number;
  /** Segments the region can ever hold (entries of the segment directory). */
  readonly maxSegments: number;
  /** Word index of the first span bin. */
  readonly binsWord: number;
  readonly classTableWord: number;
  /** Word index of the abandoned-page list heads (one per size class, under the heap lock). */
  readonly abandonedWord: number;
  /** Word index of the thread directory (MAX_THREADS words: the word index of each slot, or 0). */
  readonly threadDirWord: number;
  /** Word index of the segment directory (one word per segment: its arena's page-table bias). */
  readonly dirWord: number;
  /** Word index of the all-zero entry used as "no page". */
  readonly nullEntry: number;
  /** Absolute byte offset of the first data page. */
  readonly dataStart: number;
  /** Bytes of the region before the first data page. */
  readonly metadataBytes: number;

  i32: Int32Array;
  u8: Uint8Array;
  mappedPages = 0;
  /** Thread id of the worker using this view (set when it claims its slot), the lock's holder id. */
  tid = NO_THREAD;
  /** Its thread slot's number: 1 + the slot's index in the thread directory (PG.TAG names owners by it). */
  slotNo = 0;
  /**
   * Gives back to the span bins what this worker holds idle (its thread heap sets it: flushes the
   * thread cache, releases empty pages); acquireSpan calls it before the buffer grows.
   */
  releaseIdle: () => void = () => {};

  private constructor(memory: LinearMemory | null, base: number, maxBytes: number, segmentShift: number) {
    this.memory = memory as LinearMemory; // null only for metadataEnd's arithmetic
    this.base = base;
    this.hdr = base >>> 2;
    this.maxBytes = maxBytes;
    this.segmentShift = segmentShift;
    this.segmentPageShift = segmentShift - Page.SHIFT;

    const end = base + maxBytes;
    const upperPages = Math.max(0, Math.floor(end / Page.SIZE) - Math.ceil(base / Page.SIZE));
    this.maxSegments = Math.ceil(upperPages / (1 << this.segmentPageShift)) || 1;
    let off = base + HEADER_BYTES;
    this.nullEntry = off >>> 2;
    off += NULL_ENTRY_BYTES;
    this.binsWord = off >>> 2;
    off += Bins.COUNT * 4;
    this.classTableWord = off >>> 2;
    off = alignUp(off + CLASS_TABLE_WORDS * 4, 64);
    this.abandonedWord = off >>> 2;
    off = alignUp(off + NUM_CLASSES * 4, 64);
    this.threadDirWord = off >>> 2;
    off += MAX_THREADS * 4;
    this.dirWord = off >>> 2;
    off += this.maxSegments * 4;
    this.firstPage = Math.ceil(off / Page.SIZE);
    this.maxPages = Math.max(0, Math.floor(end / Page.SIZE) - this.firstPage);
    this.dataStart = this.firstPage * Page.SIZE;
    this.metadataBytes = this.dataStart - base;
    this.i32 = new Int32Array(0);
    this.u8 = new Uint8Array(0);
  }

  /**
   * Lays out a new heap over `memory`: writes the header and empty tables. The caller grows the
   * buffer so that the metadata fits first (`metadataEnd`).
   */
  static format(memory: LinearMemory, config: RegionConfig): Region {
    const r = new Region(memory, config.base, config.maxBytes, config.segmentShift);
    r.refreshViews();
    const i32 = r.i32;
    const h = r.hdr;
    // Zero the metadata: a given buffer may hold anything. (Page entries are written by each
    // growth for the pages it maps.)
    i32.fill(0, h, r.dirWord + r.maxSegments);
    i32[h + H.MAGIC] = MAGIC;
    i32[h + H.VERSION] = LAYOUT_VERSION;
    i32[h + H.BASE] = config.base;
    i32[h + H.MAX_BYTES] = config.maxBytes | 0;
    i32[h + H.SEGMENT_SHIFT] = config.segmentShift;
    i32[h + H.PAGE_SHIFT] = Page.SHIFT;
    i32[h + H.MAX_PAGES] = r.maxPages;
    i32[h + H.FIRST_PAGE] = r.firstPage;
    i32[h + H.MAPPED_PAGES] = 0;
    i32[h + H.BINS] = (r.binsWord << 2) - config.base;
    i32[h + H.THREADS] = (r.threadDirWord << 2) - config.base;
    i32[h + H.DIRECTORY] = (r.dirWord << 2) - config.base;
    i32[h + H.CLASS_TABLE] = (r.classTableWord << 2) - config.base;
    i32[h + H.ABANDONED] = (r.abandonedWord << 2) - config.base;
    for (let i = 0; i < CLASS_TABLE_WORDS; i++) i32[r.classTableWord + i] = SMALL_CLASS[i]!;
    i32[h + H.NEXT_TID] = 0;
    i32[h + H.FREE_KEY] = randomWord();
    i32[h + H.HEAP_ID] = randomWord();
    return r;
  }

  /**
   * Reads the geometry of an existing heap from the header at `base`, after checking that one is
   * there. Throws a TypeError naming what it found instead.
   */
  static attach(memory: LinearMemory, base: number): Region {
    const words = new Int32Array(memory.buffer, base, HEADER_BYTES >>> 2);
    if (words[H.MAGIC] !== MAGIC) {
      throw new TypeError(`hakmem: no heap header at byte offset ${base} (found magic 0x${(words[H.MAGIC]! >>> 0).toString(16)})`);
    }
    if (words[H.VERSION] !== LAYOUT_VERSION) {
      throw new TypeError(`hakmem: heap layout version ${words[H.VERSION]} at byte offset ${base}; this build reads version ${LAYOUT_VERSION}`);
    }
    const r = new Region(memory, base, words[H.MAX_BYTES]! >>> 0, words[H.SEGMENT_SHIFT]!);
    r.refreshViews();
    r.mappedPages = Atomics.load(r.i32, r.hdr + H.MAPPED_PAGES);
    return r;
  }

  /** Byte offset just past the metadata of a heap laid out with `config`: its first data page. */
  static metadataEnd(config: RegionConfig): number {
    return new Region(null, config.base, config.maxBytes, config.segmentShift).dataStart;
  }

  /** Re-creates the views over the current buffer (after growth, by anyone). */
  refreshViews(): void {
    this.memory.refresh();
    const buf = this.memory.buffer;
    const words = buf.byteLength >>> 2;
    if (this.i32.buffer !== buf || this.i32.length !== words) {
      this.i32 = new Int32Array(buf, 0, words);
      this.u8 = new Uint8Array(buf, 0, buf.byteLength);
    }
  }

  /**
   * Takes the heap lock (H.LOCK) for this worker, then takes in growth by others: what the lock
   * guards (bins, arenas' page tables) may lie in pages another worker's growth mapped.
   */
  lock(): void {
    lock(this.i32, this.hdr + H.LOCK, this.tid);
    this.sync();
  }

  unlock(): void {
    unlock(this.i32, this.hdr + H.LOCK);
  }

  /**
   * Takes in growth by anyone: views over the current buffer first (growing a non-shared
   * WebAssembly.Memory, from wasm or JS, detaches the old one), then the mapped page count.
   */
  sync(): void {
    const replaced = this.memory.replaced();
    if (replaced) this.refreshViews();
    const mapped = Atomics.load(this.i32, this.hdr + H.MAPPED_PAGES);
    // (Reading a growable SharedArrayBuffer's byteLength is a runtime call: only when needed.)
    if (mapped !== this.mappedPages) {
      this.mappedPages = mapped;
      if (!replaced) this.refreshViews();
    }
  }

  /** Word index of the entry of relative data page `r` (0 = first data page; r < mappedPages). */
  entryOfPage(r: number): number {
    return this.i32[this.dirWord + (r >>> this.segmentPageShift)]! + ((this.firstPage + r) << Entry.SHIFT);
  }

  /** Word index of the entry of the page holding byte `p` (a mapped data byte). */
  entryOf(p: number): number {
    return this.i32[this.dirWord + ((p - this.dataStart) >>> this.segmentShift)]! + ((p >>> Page.SHIFT) << Entry.SHIFT);
  }

  /**
   * Word index of thread slot `t` (0..MAX_THREADS), or 0 while it has not been made. Takes in
   * growth by others when the slot lies past this worker's views (another worker's growth made its
   * page), so `this.i32` reaches it: callers read `this.i32` after this call.
   */
  slotWord(t: number): number {
    const slot = Atomics.load(this.i32, this.threadDirWord + t);
    if (slot + THREAD_SLOT_WORDS > this.i32.length) this.sync();
    return slot;
  }

  /**
   * Claims a free slot of the thread table for a new thread heap, with a fresh thread id, and
   * points its current pages at the null entry. Makes slots (a page of them) when all made are
   * taken. Returns the slot's word index.
   * @throws Error when all MAX_THREADS slots are taken, or the heap has no page left for slots.
   */
  claimThreadSlot(): number {
    // The thread id first: making slots takes the heap lock, which must name its holder (two
    // workers attaching at once are two holders; a worker terminated inside is one to take over).
    const tid = Atomics.add(this.i32, this.hdr + H.NEXT_TID, 1) + 1;
    this.tid = tid;
    for (let t = 0; t < MAX_THREADS; t++) {
      let slot = this.slotWord(t);
      if (slot === 0) slot = this.makeSlots(t);
      const i32 = this.i32;
      if (Atomics.compareExchange(i32, slot + T.STATE, ThreadState.FREE, ThreadState.ALIVE) === ThreadState.FREE) {
        this.slotNo = t + 1;
        this.clearCurrentPages(slot);
        initCache(i32, slot);
        Atomics.store(i32, slot + T.TID, tid);
        return slot;
      }
    }
    throw new Error(`hakmem: all ${MAX_THREADS} thread slots of the heap are in use`);
  }

  /**
   * Makes the page of thread slots that slot `t` belongs to, unless another worker did meanwhile
   * (under the heap lock). Returns the word index of slot `t`.
   */
  private makeSlots(t: number): number {
    this.lock();
    try {
      if (this.i32[this.threadDirWord + t] === 0) {
        const e = acquireSpanLocked(this, 1, Kind.META); // may grow the buffer
        if (e === 0) throw new Error("hakmem: the heap has no page left for a thread slot");
        const i32 = this.i32;
        const words = (i32[e + PG.START]! >>> 0) >>> 2;
        i32.fill(0, words, words + (Page.SIZE >>> 2)); // every slot FREE, no thread id
        const first = t - (t % SLOTS_PER_PAGE);
        for (let k = 0; k < SLOTS_PER_PAGE && first + k < MAX_THREADS; k++) {
          Atomics.store(i32, this.threadDirWord + first + k, words + k * THREAD_SLOT_WORDS);
        }
        i32[this.hdr + H.SLOTS] = Math.max(i32[this.hdr + H.SLOTS]!, Math.min(MAX_THREADS, first + SLOTS_PER_PAGE));
      }
      return this.i32[this.threadDirWord + t]!;
    } finally {
      this.unlock();
    }
  }

  /**
   * Word indices of the occupied thread slots (alive, ended and not yet reclaimed, or being
   * reclaimed), in slot order. The views reach every one of them when this returns.
   */
  occupiedSlots(): number[] {
    const slots: number[] = [];
    for (let t = 0; t < MAX_THREADS; t++) {
      const slot = this.slotWord(t);
      if (slot === 0) break;
      if (Atomics.load(this.i32, slot + T.STATE) !== ThreadState.FREE) slots.push(slot);
    }
    return slots;
  }

  /** The occupied slot of the thread with id `tid`, or -1. */
  slotOfThread(tid: number): number {
    return this.occupiedSlots().find((slot) => Atomics.load(this.i32, slot + T.TID) === tid) ?? -1;
  }

  /** Thread ids of the occupied thread slots. */
  liveThreads(): number[] {
    return this.occupiedSlots().map((slot) => Atomics.load(this.i32, slot + T.TID));
  }

  /**
   * Sets every current page of the slot at word `slot` to the null entry: a new thread's, or one
   * that has ended and is being reclaimed (its pages leave it, found by owner, not by its queues).
   */
  clearCurrentPages(slot: number): void {
    this.i32.fill(this.nullEntry, slot + T.CURRENT, slot + T.CURRENT + NUM_CLASSES);
  }

  /** Gives a thread slot back. */
  releaseThreadSlot(slot: number): void {
    Atomics.store(this.i32, slot + T.TID, 0);
    Atomics.store(this.i32, slot + T.STATE, ThreadState.FREE);
  }
}

if (T.CURRENT + NUM_CLASSES > T.CACHE || T.CACHE + NUM_CLASSES * TC.WORDS > THREAD_SLOT_WORDS || SLOTS_PER_PAGE < 1) {
  throw new Error("hakmem: layout: the thread slot is too small for the size classes");
}
