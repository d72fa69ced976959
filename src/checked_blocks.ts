/**
 * checked blocks — how a block looks in checked mode, and the tests that read it.
 *
 * Basic design: in checked mode a request of n bytes takes a block of at least n + 8 bytes:
 *
 * ```
 * allocated:  [ user bytes 0..n ) [ canary CANARY_BYTES ... ) ........ [ trailer: n ^ key(p) ]
 * free:       [ link ] [ free key ] [ FREE_FILL, words 2..FREE_CHECK_WORDS + 2 ) ... [ trailer: freeWord(p) ]
 * ```
 *
 * - The canary (0xcb bytes) fills up to CANARY_BYTES bytes behind the requested bytes (less
 *   when the block ends sooner): a change there is a write past the end of the block. The
 *   trailer word in the block's last 4 bytes stores n, keyed by the block's address, so a write
 *   that reaches it is caught too, and so is a pointer to something that is not a block.
 * - A freed block carries a fill pattern in its words 2..FREE_CHECK_WORDS + 2 (word 0 is the free
 *   list link, word 1 the heap's free key, as in every mode) and, in its trailer, a word keyed by its
 *   address. Checked blocks are at least 16 bytes, so that the trailer is not word 1. The pattern in the trailer means "this block is
 *   free": a second free finds it (double free), and reuse verifies the pattern (write after
 *   free).
 * - Only the first bytes are patterned and canaried: covering whole blocks would cost checked
 *   mode far more than the 2x on typical workloads that it is allowed; overflows and stale
 *   writes most often hit the bytes right after the end and the first fields of a block.
 *
 * Invariants: every block of a checked heap is in exactly one of the two shapes above, except
 * blocks never handed out (past PG.RESERVED), which hold nothing in particular.
 */

/**
 * The format's constants. A const enum, so that the hot checks get literals (imported or
 * module-level `const`s are bindings V8 loads and hole-checks at every use).
 */
export const enum Checked {
  /** Bytes a checked block needs beyond the request: at least 4 canary bytes and the trailer. */
  OVERHEAD = 8,
  /** Words of a freed block that hold the fill, from word FREE_FIRST_WORD on. */
  FREE_CHECK_WORDS = 3,
  /** First word of the fill (word 0 is the free-list link, word 1 the free key). */
  FREE_FIRST_WORD = 2,
  /** Smallest block checked mode uses (the trailer must not be word 1). */
  MIN_BLOCK = 16,
  /** Canary bytes behind the requested bytes, at most. */
  CANARY_BYTES = 8,
  CANARY_WORD = 0xcbcbcbcb | 0,
  /** What the first words of a free block hold (its trailer holds a word keyed by its address). */
  FREE_FILL = 0xfeeefeee | 0,
  SIZE_KEY = 0x5a17e5c3,
}

export const CHECK_OVERHEAD: number = Checked.OVERHEAD;
export const FREE_CHECK_WORDS: number = Checked.FREE_CHECK_WORDS;
export const CANARY_BYTES: number = Checked.CANARY_BYTES;

/** The free pattern's word at byte address `a`. */
export function freeWord(a: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ 0x0defaced) | 0;
}

/** The trailer of an allocated block at `p` that was asked for `n` bytes. */
export function sizeWord(p: number, n: number): number {
  return (n ^ Math.imul(p, 0x2545f491) ^ Checked.SIZE_KEY) | 0;
}

/** The requested size that trailer `word` of block `p` encodes. */
export function decodeSize(p: number, word: number): number {
  return (word ^ Math.imul(p, 0x2545f491) ^ Checked.SIZE_KEY) >>> 0;
}

/** Word index of the trailer of block `p` of usable size `size` (bytes). */
export function trailerWord(p: number, size: number): number {
  return (p + size - 4) >>> 2;
}

/** Marks the block at `p` (`size` bytes) free: the pattern and the trailer. Keeps words 0 and 1. */
export function markFree(i32: Int32Array, p: number, size: number): void {
  const w = p >>> 2;
  const end = Math.min((size >>> 2) - 1, Checked.FREE_FIRST_WORD + Checked.FREE_CHECK_WORDS); // the last word is the trailer
  for (let k = Checked.FREE_FIRST_WORD; k < end; k++) i32[w + k] = Checked.FREE_FILL;
  i32[trailerWord(p, size)] = freeWord(p + size - 4);
}

/** True when the block at `p` carries the free mark in its trailer. */
export function isMarkedFree(i32: Int32Array, p: number, size: number): boolean {
  return i32[trailerWord(p, size)] === freeWord(p + size - 4);
}

/**
 * Byte offset of the first word of the free pattern of block `p` that was overwritten (the free
 * key `key` in word 1 included), or -1 when the pattern is intact.
 */
export function findFreeDamage(i32: Int32Array, p: number, size: number, key: number): number {
  const w = p >>> 2;
  if (i32[w + 1] !== key) return 4;
  const end = Math.min((size >>> 2) - 1, Checked.FREE_FIRST_WORD + Checked.FREE_CHECK_WORDS); // the last word is the trailer
  for (let k = Checked.FREE_FIRST_WORD; k < end; k++) if (i32[w + k] !== Checked.FREE_FILL) return 4 * k;
  if (i32[trailerWord(p, size)] !== freeWord(p + size - 4)) return size - 4;
  return -1;
}

/*
 * The canary of block `p` (`size` bytes) asked for `n` bytes covers the bytes
 * [p + n, min(p + n + Checked.CANARY_BYTES, p + size − 4)). It is read and written as int32 words with a
 * byte mask (little-endian: byte k of a word is bits 8k..8k+7), so without touching the user's
 * bytes and without a call per byte.
 */
function canaryMask(a: number, lo: number, hi: number): number {
  let mask = -1;
  if (a < lo) mask &= -1 << ((lo & 3) << 3);
  if (a + 4 > hi) mask &= (1 << ((hi & 3) << 3)) - 1;
  return mask;
}

/** Writes the canary and the trailer of block `p` (`size` bytes) handed out for `n` bytes. */
export function markAllocated(i32: Int32Array, p: number, size: number, n: number): void {
  const lo = p + n;
  const hi = Math.min(lo + Checked.CANARY_BYTES, p + size - 4);
  for (let a = lo & ~3; a < hi; a += 4) {
    const mask = canaryMask(a, lo, hi);
    i32[a >>> 2] = (i32[a >>> 2]! & ~mask) | (Checked.CANARY_WORD & mask);
  }
  i32[trailerWord(p, size)] = sizeWord(p, n);
}

/**
 * Byte offset in block `p` of the first canary byte that changed, or -1. `n` is the requested
 * size decoded from the trailer.
 */
export function findCanaryDamage(i32: Int32Array, p: number, size: number, n: number): number {
  const lo = p + n;
  const hi = Math.min(lo + Checked.CANARY_BYTES, p + size - 4);
  for (let a = lo & ~3; a < hi; a += 4) {
    const diff = (i32[a >>> 2]! ^ Checked.CANARY_WORD) & canaryMask(a, lo, hi);
    if (diff !== 0) return a + ((Math.clz32(diff & -diff) ^ 31) >>> 3) - p;
  }
  return -1;
}
