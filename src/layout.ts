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
 *         │ class table                  │  size → class for the malloc fast path
 *         │ abandoned pages              │  per size class, pages whose worker has gone
 *         │ thread directory             │  per thread slot: where the slot lives (0: not made yet)
 *         │ segment directory            │  per segment: the bias of its arena's page table
 *         ├──────────────────────────────┤  ◄─ first data page, page aligned (absolute)
 *         │ arena 0                      │  [its page table][data pages ...]
 *         │ arena 1                      │  one per growth of the buffer
 *         │ ...                          │
 *         └──────────────────────────────┘
 * ```
 *
 * Basic design: the metadata grows with what is mapped. Every growth maps an arena: whole
 * segments whose first pages hold the page table of the arena's pages (64 bytes per page), the
 * rest data pages. The segment directory says, for each segment, where its arena's table lies,
 * as a bias: the entry of the page numbered `n` (absolute: `p >>> Page.SHIFT`) is the word
 * `bias + (n << Entry.SHIFT)`. So a pointer finds its page entry with one directory read and
 * arithmetic. Thread slots, too, live in pages of the arenas (Kind.META), made as workers come.
 *
 * Invariants:
 * - A pointer is an absolute byte offset into the buffer. Data pages are aligned to PAGE_SIZE
 *   in absolute terms, so `p >>> Page.SHIFT` is the page number of `p`.
 * - Within an arena the page entries of consecutive pages are consecutive (16 words apart), so a
 *   span's entries are reached from its head by `e + k * Entry.WORDS`. Spans never cross arenas:
 *   each arena starts with its table pages (a span of Kind.META) and its table ends with a
 *   sentinel entry (Kind.META), so no free span coalesces across an arena's ends.
 * - Every word of metadata is an int32. Byte offsets are stored as int32 and read back with
 *   `>>> 0` (heaps may reach 4 GiB); differences of offsets are taken with `| 0`.
 * - Page entries are 64 bytes apart, so the hot words of two pages never share a cache line.
 * - The layout version changes whenever any constant below changes meaning.
 */

/** "HAKM" in little-endian ASCII: the first word of every heap header. */
export const MAGIC = 0x4d4b4148;
/** Version of the layout described in this file. */
export const LAYOUT_VERSION = 3;

/**
 * Pages are 8 KiB: small enough that a heap using many size classes stays small (each class's
 * first span is one page), large enough that the page table costs 0.8 %. (The constants that the
 * fast paths use are const enums: TypeScript writes their values in as literals, where imported
 * `const`s would be live bindings that V8 loads and checks at every use.)
 */
export const enum Page {
  SHIFT = 13,
  SIZE = 8192,
  /** Page.SHIFT − Entry.SHIFT: `(e − bias) << START_SHIFT` is the first byte of the page of entry `e`. */
  START_SHIFT = 9,
}
/** Bytes per page, for the public API. */
export const PAGE_SIZE: number = Page.SIZE;

// ─── Header: word offsets from the header's first word ──────────────────────────────────────

export const HEADER_BYTES = 256;
export const enum H {
  // Line 0: the configuration, written once at format.
  MAGIC = 0,
  VERSION = 1,
  /** Byte offset of the region in the buffer. */
  BASE = 2,
  /** Largest size of the region in bytes (uint32). */
  MAX_BYTES = 3,
  SEGMENT_SHIFT = 4,
  PAGE_SHIFT = 5,
  /** Data pages the region can ever hold. */
  MAX_PAGES = 6,
  /** Absolute page number of the first data page. */
  FIRST_PAGE = 7,
  /** Byte offsets (from base) of the tables that follow the header. */
  BINS = 8,
  CLASS_TABLE = 9,
  THREADS = 10,
  DIRECTORY = 11,
  /** Byte offset (from base) of the abandoned-page lists, one per size class. */
  ABANDONED = 12,
  /** HO bits: how the heap was created, so that every worker attached to it behaves alike. */
  OPTIONS = 13,
  /** A random word naming this heap, for names outside the buffer (liveness.ts: Web Lock names). */
  HEAP_ID = 14,
  /**
   * A random nonzero word: every free block holds it in its word Block.KEY, and malloc clears it,
   * so that a free that finds it there is a double free (confirmed by walking the lists before it
   * is reported: user data matches it by chance once in 2^32).
   */
  FREE_KEY = 15,
  // Line 1: the heap lock alone. It guards the span bins, the directories, the arenas and growth.
  LOCK = 16,
  // Line 2: counters written under the lock.
  /** Last thread id handed out (thread ids start at 1; 0 means "no owner"). */
  NEXT_TID = 32,
  GROWTHS = 33,
  PAGES_IN_USE = 34,
  PEAK_PAGES_IN_USE = 35,
  /** Thread slots made so far (the thread directory's first entries). */
  SLOTS = 36,
  /** Pages of metadata (Kind.META spans: page tables, thread slots), not in PAGES_IN_USE. */
  META_PAGES = 37,
  // Line 3 alone: every worker reads it on each `heap.u8`; only growth writes it.
  /** Data pages currently backed by the buffer, counted from the first data page. */
  MAPPED_PAGES = 48,
}

/** Bits of H.OPTIONS. */
export const enum HO {
  /** Checked mode: blocks carry canaries and free patterns (checked_blocks.ts). */
  CHECKED = 1,
  /** With CHECKED: the complete variant (every byte), not the fast one. */
  COMPLETE = 2,
}

/**
 * An all-zero page entry right after the header. A thread heap points its "current page" of a
 * size class here until it owns a page of that class: its free list is empty (0), so the malloc
 * fast path falls through to the slow path without a separate "no page yet" test.
 */
export const NULL_ENTRY_BYTES = 64;

/** Word of a free block (after the free-list link in word 0) that holds the heap's H.FREE_KEY. */
export const enum Block {
  LINK = 0,
  KEY = 1,
}

// ─── Span bins ─────────────────────────────────────────────────────────────────────────────

/** Free spans of 1..EXACT_BINS pages have a bin each; longer ones share a bin per power of two. */
export const enum Bins {
  EXACT = 16,
  COUNT = 32,
}

// ─── Size-class table ──────────────────────────────────────────────────────────────────────

/**
 * The class of a request of n <= 1023 bytes, one int32 at index (n + 7) >>> 3. It sits in the
 * buffer (written at format, read-only after) so that the malloc fast path reads everything it
 * needs through one typed array.
 */
export const CLASS_TABLE_WORDS = 129;

// ─── Thread table ──────────────────────────────────────────────────────────────────────────

/** Workers that can be attached to one heap at once. */
export const MAX_THREADS = 128;
/**
 * Each worker's slot: a header cache line; the worker's current page per size class (an entry
 * word index; the null entry when it has none), which its refills take blocks from; and its thread
 * cache, two words per size class (thread_cache.ts): the head of a LIFO list of free blocks and
 * the room left in it. Only the owning worker writes its slot (others read it for statistics and
 * checks, and reclaimThread takes it over from a worker that has ended). Slots are whole cache
 * lines apart, SLOTS_PER_PAGE to a page of Kind.META, made when the first worker needs one.
 */
export const THREAD_SLOT_WORDS = 336;
export const SLOTS_PER_PAGE = Math.floor(Page.SIZE / (THREAD_SLOT_WORDS * 4));
export const enum T {
  STATE = 0,
  /** Thread id of the worker in the slot. */
  TID = 1,
  /**
   * The worker's thread id once the lock manager has granted its liveness lock (liveness.ts);
   * anything else (an older thread's id, 0) while it has not, or nobody knows yet.
   */
  LIVENESS = 2,
  CURRENT = 16,
  /** Thread cache of class c: head at CACHE + 2c, room at CACHE + 2c + 1 (see TC). */
  CACHE = 128,
}

/** Word offsets within a class's two thread-cache words. */
export const enum TC {
  /** First free block of the class's LIFO list (linked through word 0 of the blocks); 0 when empty. */
  HEAD = 0,
  /** Blocks the list may still take before a push drains it: its cap less its length. */
  ROOM = 1,
  WORDS = 2,
}

/** States of a thread slot (T.STATE). */
export const enum ThreadState {
  FREE = 0,
  /** A worker uses the slot (or did, and nobody knows yet that it has ended). */
  ALIVE = 1,
  /** Its worker is known to have ended (liveness.ts); its pages wait for reclaimThread. */
  ENDED = 2,
  /** A reclaimThread is taking its pages over (one at a time: a second one leaves it alone). */
  RECLAIMING = 3,
}

// ─── Page table entries: word offsets within an entry ──────────────────────────────────────

export const enum Entry {
  SHIFT = 4,
  /** Words per page entry (64 bytes). */
  WORDS = 16,
}

/** Word offsets of the fields of a page entry. */
export const enum PG {
  /**
   * In every page of a span in use: the word index of the span's head entry. In the last page of
   * a free span: the head entry of that free span. In the other pages of a free span: the entry
   * of some page of the table (possibly a former head), never anything outside the table; what it
   * names is either not a page in use or is checked against the pointer's range.
   */
  HEAD = 0,
  /** At a span head: the size class (>= 0) of a small page, or one of the Kind values. */
  CLASS = 1,
  /** At a span head (and at the last page of a free span): the span's length in pages. */
  PAGES = 2,
  /** At a span head: absolute byte offset of the span's first byte (int32). */
  START = 3,
  /** Small page: head of the free list (owner only, plain stores); 0 when empty. */
  FREE = 4,
  /**
   * Small page: blocks handed out — to the owner's thread cache or to callers — and not yet back
   * on PG.FREE (blocks on PG.THREAD_FREE count as handed out until the owner collects them).
   */
  USED = 5,
  /** Small page: blocks carved so far; blocks at and past this index were never handed out. */
  RESERVED = 6,
  /** Small page: blocks the span holds. */
  CAPACITY = 7,
  /** Small page: head of the list of blocks freed by other workers (Atomics only). */
  THREAD_FREE = 8,
  /**
   * Thread id of the owning worker for a small page; 0 for a large block, a free span and an
   * abandoned page. The free fast path tests only this word: equal to its own id means "a small
   * page of mine".
   */
  OWNER = 9,
  /**
   * Links: in the owner's queue or full list of a class, in the abandoned list of its class, or
   * in a span bin when free.
   */
  NEXT = 10,
  PREV = 11,
  /** Small page: PF bits. */
  FLAGS = 12,
  /**
   * Small page: the class's exact-division constants (see size_classes.ts), copied here so that
   * free's check "is this the start of a block" reads only the page entry.
   */
  INV = 13,
  SHIFT = 14,
  /**
   * Small page owned by a worker: what the free fast path needs in one word (see Tag): the owner's
   * thread slot number, the class's exact-division shift and the class. 0 for anything else (a
   * large block, a free span, an abandoned page).
   */
  TAG = 15,
}

/** Fields of PG.TAG: (slot number << SLOT) | (division shift << SHIFT) | class. */
export const enum Tag {
  /** The owner's slot number is 1 + its slot's index in the thread table (0: no owner). */
  SLOT = 16,
  SHIFT = 8,
  CLASS_MASK = 255,
  SHIFT_MASK = 31,
}

/** PG.CLASS values of span heads that are not small pages. */
export const enum Kind {
  /** Free span (at its head and at its last page). */
  FREE = -1,
  /** A large block: a span of whole pages holding one block. */
  LARGE = -2,
  /**
   * Metadata: an arena's page-table pages, a page of thread slots, and the sentinel entry after
   * the last page of each arena. Never freed.
   */
  META = -3,
}

/** Bits of PG.FLAGS. */
export const enum PF {
  /** The page is full: it is in its owner's full list, not in its queue. */
  FULL = 1,
}

// ─── Limits ────────────────────────────────────────────────────────────────────────────────

/** Largest region a heap can manage: pointers are uint32 byte offsets. */
export const MAX_REGION_BYTES = 2 ** 32 - Page.SIZE;

/**
 * Page-table pages an arena of `pages` pages (its table pages included) needs: one entry per page
 * and the sentinel.
 */
export function tablePages(pages: number): number {
  return Math.ceil(((pages + 1) << Entry.SHIFT) * 4 / Page.SIZE);
}
