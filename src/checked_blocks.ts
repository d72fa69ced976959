/**
 * checked blocks — how a block looks in checked mode, and the tests that read it.
 *
 * Basic design: in checked mode a request of n bytes takes a block of at least n + 8 bytes (and
 * at least 16):
 *
 * ```
 * allocated:  [ user bytes 0..n ) [ canary ............................ ) [ trailer: n ^ key(p) ]
 * free:       [ link ] [ free key ] [ FREE_FILL ........................ ] [ trailer: freeWord(p) ]
 * ```
 *
 * - The canary (0xcb bytes) fills the bytes behind the requested ones: a change there is a write
 *   past the end of the block. The trailer word in the block's last 4 bytes stores n, keyed by
 *   the block's address, so a write that reaches it is caught too, and so is a pointer to
 *   something that is not a block.
 * - A freed block carries a fill pattern from its word 2 on (word 0 is the free-list link, word 1
 *   the heap's free key, as in every mode) and, in its trailer, a word keyed by its address. The
 *   mark in the trailer means "this block is free": a second free finds it (double free), and
 *   reuse verifies the pattern (write after free).
 * - Two variants (H.OPTIONS, HO bits): complete (`check: true`) covers every byte: the canary
 *   runs to the trailer; the fill covers the whole block up to FULL_MAX bytes, above that the
 *   first and last EDGE_WORDS words and one word in every STRIDE_WORDS (a write between the
 *   samples of a freed block that large goes unseen). Fast (`check: "fast"`) covers
 *   CANARY_BYTES behind the request and FREE_CHECK_WORDS of fill: the bytes off-by-a-few
 *   overflows and stale writes to the first fields of a struct hit most, at a fraction of the
 *   cost (docs/DESIGN.md has the figures).
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
  /** Fast variant: words of a freed block that hold the fill, from word FREE_FIRST_WORD on. */
  FREE_CHECK_WORDS = 3,
  /** First word of the fill (word 0 is the free-list link, word 1 the free key). */
  FREE_FIRST_WORD = 2,
  /** Smallest block checked mode uses (the trailer must not be word 1). */
  MIN_BLOCK = 16,
  /** Fast variant: canary bytes behind the requested bytes, at most. */
  CANARY_BYTES = 8,
  /** Complete variant: blocks up to this size are canaried and filled whole. */
  FULL_MAX = 65536,
  /** Complete variant, blocks above FULL_MAX: words at both ends, and one in every stride. */
  EDGE_WORDS = 16,
  STRIDE_WORDS = 16,
  CANARY_WORD = 0xcbcbcbcb | 0,
  /** What the words of a free block hold (its trailer holds a word keyed by its address). */
  FREE_FILL = 0xfeeefeee | 0,
  SIZE_KEY = 0x5a17e5c3,
}

export const CHECK_OVERHEAD: number = Checked.OVERHEAD;

/** The free pattern's word at byte address `a`. */
export function freeWord(a: number): number {
  return (Math.imul(a, 0x9e3779b1) ^ 0x0defaced) | 0;
}

/**
 * The trailer of an allocated block at `p` that was asked for `n` bytes: n keyed by p, then
 * mixed by an invertible hash (murmur3's finalizer). The mix is what makes a write to the trailer
 * show: it turns any change of the word into an unrelated size, which lies past the block (and is
 * reported) but with odds of size / 2^32. Unmixed, a flipped low bit of a large block's trailer
 * would decode to a slightly larger size whose extra bytes are canary, and pass.
 */
export function sizeWord(p: number, n: number): number {
  let h = (n ^ Math.imul(p, 0x2545f491) ^ Checked.SIZE_KEY) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** The requested size that trailer `word` of block `p` encodes: sizeWord inverted. */
export function decodeSize(p: number, word: number): number {
  let h = word ^ (word >>> 16);
  h = Math.imul(h, 0x7ed1b41d); // the inverse of 0xc2b2ae35 mod 2^32
  h ^= (h >>> 13) ^ (h >>> 26);
  h = Math.imul(h, 0xa5cb9243); // the inverse of 0x85ebca6b
  h ^= h >>> 16;
  return (h ^ Math.imul(p, 0x2545f491) ^ Checked.SIZE_KEY) >>> 0;
}

/** Word index of the trailer of block `p` of usable size `size` (bytes). */
export function trailerWord(p: number, size: number): number {
  return (p + size - 4) >>> 2;
}

/** Marks the block at `p` (`size` bytes) free: the fill and the trailer. Keeps words 0 and 1. */
export function markFree(i32: Int32Array, p: number, size: number, full: boolean): void {
  const w = p >>> 2;
  const trailer = (size >>> 2) - 1;
  if (!full) {
    i32.fill(Checked.FREE_FILL, w + Checked.FREE_FIRST_WORD, w + Math.min(trailer, Checked.FREE_FIRST_WORD + Checked.FREE_CHECK_WORDS));
  } else if (size <= Checked.FULL_MAX) {
    i32.fill(Checked.FREE_FILL, w + Checked.FREE_FIRST_WORD, w + trailer);
  } else {
    i32.fill(Checked.FREE_FILL, w + Checked.FREE_FIRST_WORD, w + Checked.EDGE_WORDS);
    for (let k = Checked.EDGE_WORDS; k < trailer - Checked.EDGE_WORDS; k += Checked.STRIDE_WORDS) i32[w + k] = Checked.FREE_FILL;
    i32.fill(Checked.FREE_FILL, w + trailer - Checked.EDGE_WORDS, w + trailer);
  }
  i32[w + trailer] = freeWord(p + size - 4);
}

/** True when the block at `p` carries the free mark in its trailer. */
export function isMarkedFree(i32: Int32Array, p: number, size: number): boolean {
  return i32[trailerWord(p, size)] === freeWord(p + size - 4);
}

/** Byte offset (from `w`, a word index) of the first word in [from, to) not holding the fill, or -1. */
function firstUnfilled(i32: Int32Array, w: number, from: number, to: number, step: number): number {
  for (let k = from; k < to; k += step) if (i32[w + k] !== Checked.FREE_FILL) return 4 * k;
  return -1;
}

/**
 * Byte offset of the first word of the free pattern of block `p` that was overwritten (the free
 * key `key` in word 1 included), or -1 when the pattern is intact.
 */
export function findFreeDamage(i32: Int32Array, p: number, size: number, key: number, full: boolean): number {
  const w = p >>> 2;
  const trailer = (size >>> 2) - 1;
  if (i32[w + 1] !== key) return 4;
  let at: number;
  if (!full) {
    at = firstUnfilled(i32, w, Checked.FREE_FIRST_WORD, Math.min(trailer, Checked.FREE_FIRST_WORD + Checked.FREE_CHECK_WORDS), 1);
  } else if (size <= Checked.FULL_MAX) {
    at = firstUnfilled(i32, w, Checked.FREE_FIRST_WORD, trailer, 1);
  } else {
    at = firstUnfilled(i32, w, Checked.FREE_FIRST_WORD, Checked.EDGE_WORDS, 1);
    if (at < 0) at = firstUnfilled(i32, w, Checked.EDGE_WORDS, trailer - Checked.EDGE_WORDS, Checked.STRIDE_WORDS);
    if (at < 0) at = firstUnfilled(i32, w, trailer - Checked.EDGE_WORDS, trailer, 1);
  }
  if (at >= 0) return at;
  if (i32[w + trailer] !== freeWord(p + size - 4)) return size - 4;
  return -1;
}

/*
 * The canary of block `p` (`size` bytes) asked for `n` bytes covers the bytes
 * [p + n, end): end is the trailer (complete variant, at any size: the slack of a large block is
 * less than a page, or what a realloc shrinking in place left, written once) or at most
 * CANARY_BYTES (fast). It is read and written as int32 words with a byte mask
 * (little-endian: byte k of a word is bits 8k..8k+7), so without touching the user's bytes and
 * without a call per byte.
 */
function canaryEnd(p: number, size: number, n: number, full: boolean): number {
  const trailer = p + size - 4;
  return full ? trailer : Math.min(p + n + Checked.CANARY_BYTES, trailer);
}

function canaryMask(a: number, lo: number, hi: number): number {
  let mask = -1;
  if (a < lo) mask &= -1 << ((lo & 3) << 3);
  if (a + 4 > hi) mask &= (1 << ((hi & 3) << 3)) - 1;
  return mask;
}

/** Writes the canary and the trailer of block `p` (`size` bytes) handed out for `n` bytes. */
export function markAllocated(i32: Int32Array, p: number, size: number, n: number, full: boolean): void {
  const lo = p + n;
  const hi = canaryEnd(p, size, n, full);
  let a = lo & ~3;
  if (a < lo && a < hi) {
    const mask = canaryMask(a, lo, hi);
    i32[a >>> 2] = (i32[a >>> 2]! & ~mask) | (Checked.CANARY_WORD & mask);
    a += 4;
  }
  const whole = hi & ~3;
  if (a < whole) {
    i32.fill(Checked.CANARY_WORD, a >>> 2, whole >>> 2);
    a = whole;
  }
  if (a < hi) {
    const mask = canaryMask(a, lo, hi);
    i32[a >>> 2] = (i32[a >>> 2]! & ~mask) | (Checked.CANARY_WORD & mask);
  }
  i32[trailerWord(p, size)] = sizeWord(p, n);
}

/**
 * Byte offset in block `p` of the first canary byte that changed, or -1. `n` is the requested
 * size decoded from the trailer.
 */
export function findCanaryDamage(i32: Int32Array, p: number, size: number, n: number, full: boolean): number {
  const lo = p + n;
  const hi = canaryEnd(p, size, n, full);
  for (let a = lo & ~3; a < hi; a += 4) {
    const diff = (i32[a >>> 2]! ^ Checked.CANARY_WORD) & canaryMask(a, lo, hi);
    if (diff !== 0) return a + ((Math.clz32(diff & -diff) ^ 31) >>> 3) - p;
  }
  return -1;
}
