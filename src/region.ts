/**
 * region — one worker's view of a heap's region: its geometry, read from or written to the
 * header, and the typed views over the backing buffer.
 *
 * Invariants:
 * - `i32` and `u8` are fixed-length views over the whole buffer as it was at the last
 *   `refreshViews()` (fixed-length views are ~10x faster than length-tracking ones on growable
 *   buffers in V8). Whoever grows the buffer, or learns that another worker did, calls
 *   `refreshViews()`; the thread heap then copies the views it caches.
 * - Geometry (first page, page table, bias, limits) never changes after `format`.
 * - `mappedPages` is this worker's last reading of H_MAPPED_PAGES; only growth raises it.
 */

import {
  ENTRY_SHIFT, ENTRY_WORDS, HEADER_BYTES, H_BASE, H_BINS, H_EPOCH, H_FIRST_PAGE, H_MAGIC,
  H_MAPPED_PAGES, H_MAX_BYTES, H_MAX_PAGES, H_NEXT_TID, H_PAGE_SHIFT, H_PAGE_TABLE, H_SEGMENTS,
  H_SEGMENT_SHIFT, H_THREADS, H_VERSION, LAYOUT_VERSION, MAGIC, MAX_THREADS, NULL_ENTRY_BYTES,
  NUM_BINS, PAGE_SHIFT, PAGE_SIZE, THREAD_SLOT_WORDS,
} from "./layout.js";
import { LinearMemory } from "./memory.js";

/** Everything `format` needs to lay out a new heap. */
export interface RegionConfig {
  base: number;
  maxBytes: number;
  segmentShift: number;
}

function alignUp(n: number, a: number): number {
  return Math.ceil(n / a) * a;
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
  /** Word index of the first span bin, the segment table and the first page entry. */
  readonly binsWord: number;
  readonly threadsWord: number;
  readonly segmentsWord: number;
  readonly pageTableWord: number;
  /** Word index of the all-zero entry used as "no page". */
  readonly nullEntry: number;
  /** Entry of the page holding byte offset p: `((p >>> PAGE_SHIFT) << ENTRY_SHIFT) + pageBias`. */
  readonly pageBias: number;
  /** Absolute byte offset of the first data page. */
  readonly dataStart: number;
  /** Bytes of the region before the first data page. */
  readonly metadataBytes: number;

  i32: Int32Array;
  u8: Uint8Array;
  mappedPages = 0;

  private constructor(memory: LinearMemory | null, base: number, maxBytes: number, segmentShift: number) {
    this.memory = memory as LinearMemory; // null only for metadataEnd's arithmetic
    this.base = base;
    this.hdr = base >>> 2;
    this.maxBytes = maxBytes;
    this.segmentShift = segmentShift;
    this.segmentPageShift = segmentShift - PAGE_SHIFT;

    const end = base + maxBytes;
    const upperPages = Math.max(0, Math.floor(end / PAGE_SIZE) - Math.ceil(base / PAGE_SIZE));
    const maxSegments = Math.ceil(upperPages / (1 << this.segmentPageShift)) || 1;
    let off = base + HEADER_BYTES;
    this.nullEntry = off >>> 2;
    off += NULL_ENTRY_BYTES;
    this.binsWord = off >>> 2;
    off = alignUp(off + NUM_BINS * 4, 64);
    this.threadsWord = off >>> 2;
    off += MAX_THREADS * THREAD_SLOT_WORDS * 4;
    this.segmentsWord = off >>> 2;
    off = alignUp(off + maxSegments * 4, 64);
    this.pageTableWord = off >>> 2;
    off += upperPages * ENTRY_WORDS * 4;
    this.firstPage = Math.ceil(off / PAGE_SIZE);
    this.maxPages = Math.max(0, Math.floor(end / PAGE_SIZE) - this.firstPage);
    this.dataStart = this.firstPage * PAGE_SIZE;
    this.metadataBytes = this.dataStart - base;
    this.pageBias = this.pageTableWord - (this.firstPage << ENTRY_SHIFT);
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
    // Zero the metadata: a given buffer may hold anything.
    i32.fill(0, h, r.pageTableWord + r.maxPages * ENTRY_WORDS);
    i32[h + H_MAGIC] = MAGIC;
    i32[h + H_VERSION] = LAYOUT_VERSION;
    i32[h + H_BASE] = config.base;
    i32[h + H_MAX_BYTES] = config.maxBytes | 0;
    i32[h + H_SEGMENT_SHIFT] = config.segmentShift;
    i32[h + H_PAGE_SHIFT] = PAGE_SHIFT;
    i32[h + H_MAX_PAGES] = r.maxPages;
    i32[h + H_FIRST_PAGE] = r.firstPage;
    i32[h + H_MAPPED_PAGES] = 0;
    i32[h + H_BINS] = (r.binsWord << 2) - config.base;
    i32[h + H_THREADS] = (r.threadsWord << 2) - config.base;
    i32[h + H_SEGMENTS] = (r.segmentsWord << 2) - config.base;
    i32[h + H_PAGE_TABLE] = (r.pageTableWord << 2) - config.base;
    i32[h + H_NEXT_TID] = 0;
    i32[h + H_EPOCH] = 1;
    return r;
  }

  /**
   * Reads the geometry of an existing heap from the header at `base`, after checking that one is
   * there. Throws a TypeError naming what it found instead.
   */
  static attach(memory: LinearMemory, base: number): Region {
    const words = new Int32Array(memory.buffer, base, HEADER_BYTES >>> 2);
    if (words[H_MAGIC] !== MAGIC) {
      throw new TypeError(`hakmem: no heap header at byte offset ${base} (found magic 0x${(words[H_MAGIC]! >>> 0).toString(16)})`);
    }
    if (words[H_VERSION] !== LAYOUT_VERSION) {
      throw new TypeError(`hakmem: heap layout version ${words[H_VERSION]} at byte offset ${base}; this build reads version ${LAYOUT_VERSION}`);
    }
    const r = new Region(memory, base, words[H_MAX_BYTES]! >>> 0, words[H_SEGMENT_SHIFT]!);
    r.refreshViews();
    r.mappedPages = Atomics.load(r.i32, r.hdr + H_MAPPED_PAGES);
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

  /** Word index of the entry of relative data page `r` (0 = first data page). */
  entryOfPage(r: number): number {
    return this.pageTableWord + (r << ENTRY_SHIFT);
  }

  /** Relative data page of the entry at word index `e`. */
  pageOfEntry(e: number): number {
    return (e - this.pageTableWord) >> ENTRY_SHIFT;
  }

  /** Absolute byte offset of the first byte of the page whose entry is `e`. */
  startOfEntry(e: number): number {
    return (this.firstPage + this.pageOfEntry(e)) * PAGE_SIZE;
  }

  /** Takes the next thread id; ids are never reused within a heap's life. */
  newThreadId(): number {
    return Atomics.add(this.i32, this.hdr + H_NEXT_TID, 1) + 1;
  }
}
