/**
 * size classes — which block size serves a request, and how pages of each class are shaped.
 *
 * Basic design: one class of 8 bytes, then 16-byte steps up to 128 bytes, then eight classes per
 * power of two (steps of size/8) up to MID_MAX. Requests above MID_MAX are large blocks (runs of
 * whole pages).
 *
 * Invariants:
 * - Every class size is a multiple of 16, except class 0 (8 bytes); pages start 8 KiB aligned,
 *   so every block is 8-byte aligned, and 16-byte aligned from 16 bytes up.
 * - Internal waste: above 112 bytes a request wastes less than 1/9 (11.1 %) of its block; at or
 *   below it the 16-byte granularity that alignment demands dominates.
 * - A class's pages are spans of CLASS_FIRST_PAGES..CLASS_SPAN_PAGES pages: a worker's first span
 *   of a class is small (one page for classes up to 1 KiB: a heap using many classes stays
 *   small), and each next one twice as long as the one before, up to a span of at least 64 KiB
 *   that holds MIN_BLOCKS_PER_SPAN blocks with little tail waste (the largest classes, whose 64 KiB
 *   hold fewer, take the span of least waste that holds two).
 * - `classOfSmall(size)` for size <= SMALL_MAX is one table read: the malloc fast path.
 */

import { Page } from "./layout.js";

/** Largest request served by the one-read lookup table of the fast path. */
export const SMALL_MAX = 1024;
/** Largest request served by size classes; larger requests are large blocks. */
export const MID_MAX = 256 * 1024;
/** Longest span a size class uses for one page (1 MiB). */
export const MAX_SPAN_PAGES = 128;
/** Shortest of a class's longest spans (64 KiB): fewer, longer spans once a class is in use. */
const MIN_FULL_SPAN_PAGES = 8;
const MIN_BLOCKS_PER_SPAN = 8;

function buildSizes(): number[] {
  const sizes = [8];
  for (let s = 16; s <= 128; s += 16) sizes.push(s);
  for (let pow = 128; pow < MID_MAX; pow *= 2) {
    for (let j = 1; j <= 8; j++) sizes.push(pow + j * (pow >>> 3));
  }
  return sizes;
}

const sizes = buildSizes();

/** Number of size classes. */
export const NUM_CLASSES = sizes.length;

/** Block size in bytes of each class. */
export const CLASS_SIZE = Int32Array.from(sizes);

/** Pages of the longest span of each class, and of the first. */
export const CLASS_SPAN_PAGES = new Int32Array(NUM_CLASSES);
export const CLASS_FIRST_PAGES = new Int32Array(NUM_CLASSES);
/** Blocks the longest span of each class holds: no page of the class holds more. */
export const CLASS_CAPACITY = new Int32Array(NUM_CLASSES);

/** Blocks a span of `pages` pages of class `cls` holds. */
export function spanCapacity(cls: number, pages: number): number {
  return Math.floor((pages * Page.SIZE) / CLASS_SIZE[cls]!);
}
/**
 * Blocks carved into a page's free list at a time when its lists run dry (the seed's batch
 * refill): at most 32 and 4 KiB of blocks, since carving writes into every block; a mid page
 * (blocks of 4 KiB and more, a few per page) is carved whole at once, so that its later refills
 * find blocks on its list (the seed's prewarm).
 */
export const CLASS_EXTEND = new Int32Array(NUM_CLASSES);

/**
 * The thread cache's bounds (thread_cache.ts). A class's cache holds at most CLASS_CACHE_CAP
 * blocks: CACHE_CLASS_BYTES of them, but no more than CACHE_MAX_BLOCKS and no fewer than four;
 * a class above CACHE_MAX_SIZE holds one block (its pages hold a block or two: without it, a
 * malloc/free pair would set a page up and give it back each time, and a block freed twice in a
 * row could already be another worker's). A worker's caches thus hold at most CACHE_WORKER_BYTES
 * bytes (the sum of cap × size); a growth of the heap and collect() empty them.
 */
export const CACHE_CLASS_BYTES = 16 * 1024;
export const CACHE_MAX_BLOCKS = 64;
export const CACHE_MAX_SIZE = 64 * 1024;
/** Blocks one refill moves from a page into the cache at most (the seed's REFILL_COUNT). */
export const CACHE_REFILL = 32;
export const CLASS_CACHE_CAP = new Int32Array(NUM_CLASSES);
/** Blocks a refill takes (at most; what the page has): half the cap, at most CACHE_REFILL, at least 1. */
export const CLASS_REFILL = new Int32Array(NUM_CLASSES);

/**
 * Exact-division constants: a class size is `odd << shift`. For a byte offset `x` into a span,
 * `rotr32(imul(x, CLASS_INV[c]), CLASS_SHIFT[c])` equals `x / size` when `size` divides `x`, and
 * is at least 2^32 / size otherwise — so one unsigned comparison against the page's block count
 * tells "is the start of a block of this page" without a division (Granlund–Montgomery).
 */
export const CLASS_INV = new Int32Array(NUM_CLASSES);
export const CLASS_SHIFT = new Int32Array(NUM_CLASSES);

/** Class of a request of `n` bytes, n <= SMALL_MAX, at index `(n + 7) >>> 3`. */
export const SMALL_CLASS = new Uint8Array((SMALL_MAX >>> 3) + 1);

function inverseMod32(odd: number): number {
  let x = odd; // correct to 3 bits; each Newton step doubles the correct bits
  for (let i = 0; i < 5; i++) x = Math.imul(x, 2 - Math.imul(odd, x));
  return x | 0;
}

function spanPagesFor(size: number): number {
  // Fewest pages, from MIN_FULL_SPAN_PAGES on, that hold MIN_BLOCKS_PER_SPAN blocks with a tail
  // waste of at most 1/16.
  let best = MAX_SPAN_PAGES;
  let bestWaste = Infinity;
  for (let pages = MIN_FULL_SPAN_PAGES; pages <= MAX_SPAN_PAGES; pages++) {
    const bytes = pages * Page.SIZE;
    const blocks = Math.floor(bytes / size);
    const waste = (bytes - blocks * size) / bytes;
    if (blocks >= MIN_BLOCKS_PER_SPAN && waste <= 1 / 16) return pages;
    if (blocks >= 2 && waste < bestWaste) { best = pages; bestWaste = waste; }
  }
  return best;
}

function firstPagesFor(size: number, most: number): number {
  // Fewest pages that hold a block with a tail waste of at most 1/8.
  for (let pages = 1; pages < most; pages++) {
    const bytes = pages * Page.SIZE;
    if (bytes >= size && bytes - Math.floor(bytes / size) * size <= bytes / 8) return pages;
  }
  return most;
}

for (let c = 0; c < NUM_CLASSES; c++) {
  const size = sizes[c]!;
  const pages = spanPagesFor(size);
  CLASS_SPAN_PAGES[c] = pages;
  CLASS_FIRST_PAGES[c] = firstPagesFor(size, pages);
  CLASS_CAPACITY[c] = Math.floor((pages * Page.SIZE) / size);
  // The seed measured 32 blocks per refill as best (128 polluted L1 and lost 36 %); cap at 4 KiB.
  CLASS_EXTEND[c] = size >= 4096 ? CLASS_CAPACITY[c]! : Math.max(1, Math.min(32, Math.floor(4096 / size)));
  CLASS_CACHE_CAP[c] = size > CACHE_MAX_SIZE ? 1 : Math.max(4, Math.min(CACHE_MAX_BLOCKS, Math.floor(CACHE_CLASS_BYTES / size)));
  CLASS_REFILL[c] = Math.max(1, Math.min(CACHE_REFILL, CLASS_CACHE_CAP[c]! >>> 1));
  const shift = 31 - Math.clz32(size & -size);
  CLASS_SHIFT[c] = shift;
  CLASS_INV[c] = inverseMod32(size >>> shift);
}

/** Bytes a worker's thread caches can hold at most. */
export const CACHE_WORKER_BYTES = CLASS_CACHE_CAP.reduce((sum, cap, c) => sum + cap * CLASS_SIZE[c]!, 0);

for (let i = 0; i < SMALL_CLASS.length; i++) {
  const n = i << 3;
  let c = 0;
  while (CLASS_SIZE[c]! < n) c++;
  SMALL_CLASS[i] = c;
}

/** Size class of a request of `size` bytes, 0 <= size <= MID_MAX. */
export function classOf(size: number): number {
  if (size <= SMALL_MAX) return SMALL_CLASS[(size + 7) >>> 3]!;
  // size in (2^k, 2^(k+1)]: classes step by 2^(k-3); the classes above 128 start at index 9.
  const k = 31 - Math.clz32(size - 1);
  return 9 + (k - 7) * 8 + ((size - 1 - (1 << k)) >>> (k - 3));
}

/**
 * Index of the block that starts at byte offset `offset` of a span of class `cls`, or a number
 * >= 2^32 / size when `offset` is not a multiple of the class size.
 */
export function blockIndex(cls: number, offset: number): number {
  const y = Math.imul(offset, CLASS_INV[cls]!);
  const s = CLASS_SHIFT[cls]!;
  return ((y >>> s) | (y << (32 - s))) >>> 0;
}
