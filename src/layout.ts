/**
 * layout — every constant of the heap's in-buffer layout, in one place.
 *
 * A hakmem heap lives entirely inside the region `[base, base + maxBytes)` of its backing
 * buffer, so that another worker can attach to it with nothing but the buffer:
 *
 * ```
 * base ─► ┌──────────────────────────────┐
 *         │ header (HEADER_BYTES)        │  magic, version, configuration, lock, counters
 *         │ null page entry              │  an all-zero page entry (see NULL_ENTRY)
 *         │ span bins                    │  heads of the free-span lists, one per bin
 *         │ thread table                 │  one padded 64-byte slot per worker (MAX_THREADS)
 *         │ segment table                │  pages in use, one int32 per segment
 *         │ page table                   │  one 64-byte entry per page (ENTRY_WORDS int32)
 *         ├──────────────────────────────┤  ◄─ first data page, 64 KiB aligned (absolute)
 *         │ data pages (PAGE_SIZE each)  │  grown at the end, one segment at a time
 *         └──────────────────────────────┘
 * ```
 *
 * Invariants:
 * - A pointer is an absolute byte offset into the buffer. Data pages are aligned to PAGE_SIZE
 *   in absolute terms, so `p >>> PAGE_SHIFT` is the page number of `p`, and the page-table
 *   entry of `p` is found by arithmetic: `((p >>> PAGE_SHIFT) << ENTRY_SHIFT) + pageBias`
 *   (word index into an Int32Array over the whole buffer).
 * - Every word of metadata is an int32. Byte offsets are stored as int32 and read back with
 *   `>>> 0` (heaps may reach 4 GiB); differences of offsets are taken with `| 0`.
 * - Page entries are 64 bytes apart, so the hot words of two pages never share a cache line.
 * - The layout version changes whenever any constant below changes meaning.
 */

/** "HAKM" in little-endian ASCII: the first word of every heap header. */
export const MAGIC = 0x4d4b4148;
/** Version of the layout described in this file. */
export const LAYOUT_VERSION = 1;

/** log2 of the page size: pages are 64 KiB, the size of a WebAssembly page. */
export const PAGE_SHIFT = 16;
export const PAGE_SIZE = 1 << PAGE_SHIFT;

// ─── Header: word offsets from the header's first word ──────────────────────────────────────

export const HEADER_BYTES = 256;
export const H_MAGIC = 0;
export const H_VERSION = 1;
/** Byte offset of the region in the buffer. */
export const H_BASE = 2;
/** Largest size of the region in bytes (uint32). */
export const H_MAX_BYTES = 3;
export const H_SEGMENT_SHIFT = 4;
export const H_PAGE_SHIFT = 5;
/** Number of entries of the page table (pages the region can ever hold). */
export const H_MAX_PAGES = 6;
/** Absolute page number of the first data page. */
export const H_FIRST_PAGE = 7;
/** Data pages currently backed by the buffer, counted from the first data page. */
export const H_MAPPED_PAGES = 8;
/** Byte offsets (from base) of the tables below. */
export const H_BINS = 9;
export const H_THREADS = 10;
export const H_SEGMENTS = 11;
export const H_PAGE_TABLE = 12;
/** Counters kept under the heap lock. */
export const H_GROWTHS = 13;
export const H_PAGES_IN_USE = 14;
export const H_PEAK_PAGES_IN_USE = 15;
/** The heap lock guards the span bins, the segment table and growth. Alone on its cache line. */
export const H_LOCK = 16;
/** Last thread id handed out (thread ids start at 1; 0 means "no owner"). */
export const H_NEXT_TID = 32;
/** Bumped by every reset, so a stale attachment can tell. */
export const H_EPOCH = 33;

/**
 * An all-zero page entry right after the header. A thread heap points its "current page" of a
 * size class here until it owns a page of that class: its free list is empty (0), so the malloc
 * fast path falls through to the slow path without a separate "no page yet" test.
 */
export const NULL_ENTRY_BYTES = 64;

// ─── Span bins ─────────────────────────────────────────────────────────────────────────────

/** Free spans of 1..EXACT_BINS pages have a bin each; longer ones share a bin per power of two. */
export const EXACT_BINS = 16;
export const NUM_BINS = 32;

// ─── Thread table ──────────────────────────────────────────────────────────────────────────

/** Workers that can be attached to one heap at once. */
export const MAX_THREADS = 128;
/** Each worker's slot is a cache line of its own (false sharing cost one Node user 8x). */
export const THREAD_SLOT_WORDS = 16;
export const T_STATE = 0;
export const T_STATE_FREE = 0;
export const T_STATE_ALIVE = 1;

// ─── Page table entries: word offsets within an entry ──────────────────────────────────────

export const ENTRY_SHIFT = 4;
/** Words per page entry (64 bytes). */
export const ENTRY_WORDS = 1 << ENTRY_SHIFT;

/**
 * In every page of a span in use: the word index of the span's head entry. In the last page of a
 * free span: the head entry of that free span. Elsewhere stale, which is safe because whatever it
 * points to is either not a page in use or is checked against the pointer's range.
 */
export const PG_HEAD = 0;
/** At a span head: the size class (>= 0) of a small page, or one of the KIND_* values. */
export const PG_CLASS = 1;
/** At a span head (and at the last page of a free span): the span's length in pages. */
export const PG_PAGES = 2;
/** At a span head: absolute byte offset of the span's first byte (int32). */
export const PG_START = 3;
/** Small page: head of the free list (owner only, plain stores); 0 when empty. */
export const PG_FREE = 4;
/** Small page: blocks handed out and not yet returned to PG_FREE. */
export const PG_USED = 5;
/** Small page: blocks carved so far; blocks at and past this index were never handed out. */
export const PG_RESERVED = 6;
/** Small page: blocks the span holds. */
export const PG_CAPACITY = 7;
/** Small page: head of the list of blocks freed by other workers (Atomics only). */
export const PG_THREAD_FREE = 8;
/** Small page: thread id of the owning worker; 0 when abandoned. */
export const PG_OWNER = 9;
/** Links: in the owner's page queue of a class, or in a span bin when free. */
export const PG_NEXT = 10;
export const PG_PREV = 11;
/** Small page: PF_* bits. */
export const PG_FLAGS = 12;
/**
 * Small page: the owner's free calls the slow path when PG_USED drops to this value: 0 for a
 * page in its queue (it became empty), or a little below capacity for a full page (enough blocks
 * came back for it to rejoin its queue).
 */
export const PG_WAKE = 13;

/** Free span (at its head and at its last page). */
export const KIND_FREE = -1;
/** A large block: a span of whole pages holding one block. */
export const KIND_LARGE = -2;

/** The page is full and is not in its owner's queue. */
export const PF_FULL = 1;

// ─── Blocks ────────────────────────────────────────────────────────────────────────────────

/** Blocks of 16 bytes and more are 16-byte aligned; the smallest class (8 bytes) is 8-aligned. */
export const MIN_ALIGN = 8;

/** Largest region a heap can manage: pointers are uint32 byte offsets. */
export const MAX_REGION_BYTES = 2 ** 32 - PAGE_SIZE;
