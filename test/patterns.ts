/**
 * patterns — fill a block of heap memory with a pattern derived from an id, and verify it.
 *
 * The pattern is a sequence of 32-bit words: word j of the pattern of `id` is
 * `seed(id) ^ imul(j + 1, 0x9e3779b1)`, stored little-endian; a block of n bytes holds the first
 * n bytes of that byte sequence. So the pattern depends on both the id and the position: two
 * blocks with different ids differ in every word, and a block copied to a shifted position, or a
 * stretch of zeros or of another block's bytes, does not verify. Blocks are at least 8-byte
 * aligned, so whole words go through an Int32Array (fast enough to verify tens of MiB after every
 * growth of a heap); the tail and unaligned starts go byte by byte through the same definition.
 * The sparse variant covers a block's ends whole and its middle one word in 16 (for fuzzers).
 */

/** The first 32-bit word of the pattern of `id`; distinct ids give distinct seeds. */
function seed(id: number): number {
  let h = Math.imul(id ^ 0x5bd1e995, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return (h ^ (h >>> 16) ^ id) | 0;
}

function word(s: number, j: number): number {
  return (s ^ Math.imul(j + 1, 0x9e3779b1)) | 0;
}

/** Byte `k` of the pattern of the seed `s`. */
function patternByte(s: number, k: number): number {
  return (word(s, k >>> 2) >>> ((k & 3) * 8)) & 255;
}

/**
 * Int32Array over the same bytes as the last `u8` seen (kept, not made again for every block), or
 * null when `u8` does not start and end on a 4-byte boundary.
 */
let wordsFor: Uint8Array | undefined;
let words: Int32Array | null = null;
function wordsOf(u8: Uint8Array): Int32Array | null {
  if (u8 !== wordsFor) {
    wordsFor = u8;
    words = u8.byteOffset % 4 === 0 && u8.length % 4 === 0 ? new Int32Array(u8.buffer, u8.byteOffset, u8.length >>> 2) : null;
  }
  return words;
}

/** Writes bytes [from, to) of the pattern of seed `s` into the block at `p`. */
function fillRange(u8: Uint8Array, p: number, from: number, to: number, s: number): void {
  let k = from;
  const w = (p & 3) === 0 ? wordsOf(u8) : null;
  if (w !== null) {
    for (; k < to && (k & 3) !== 0; k++) u8[p + k] = patternByte(s, k);
    for (; k + 4 <= to; k += 4) w[(p + k) >>> 2] = word(s, k >>> 2);
  }
  for (; k < to; k++) u8[p + k] = patternByte(s, k);
}

/** Offset of the first byte in [from, to) of the block at `p` that is not the pattern of seed `s`, or -1. */
function checkRange(u8: Uint8Array, p: number, from: number, to: number, s: number): number {
  let k = from;
  const w = (p & 3) === 0 ? wordsOf(u8) : null;
  if (w !== null) {
    for (; k < to && (k & 3) !== 0; k++) if (u8[p + k] !== patternByte(s, k)) return k;
    for (; k + 4 <= to; k += 4) {
      if (w[(p + k) >>> 2] !== word(s, k >>> 2)) {
        while (u8[p + k] === patternByte(s, k)) k++;
        return k;
      }
    }
  }
  for (; k < to; k++) if (u8[p + k] !== patternByte(s, k)) return k;
  return -1;
}

/** Writes the first `n` bytes of the pattern of `id` at byte offset `p` of `u8`. */
export function fillPattern(u8: Uint8Array, p: number, n: number, id: number): void {
  fillRange(u8, p, 0, n, seed(id));
}

/**
 * Checks the first `n` bytes at `p` against the pattern of `id`. Returns -1 when they match, or
 * the offset (from `p`) of the first byte that differs.
 */
export function findPatternMismatch(u8: Uint8Array, p: number, n: number, id: number): number {
  return checkRange(u8, p, 0, n, seed(id));
}

/**
 * Sparse patterns, for fuzzers that write and verify hundreds of megabytes a second: the first
 * SPARSE_HEAD and the last SPARSE_TAIL bytes of a block whole (where list links, headers,
 * overflows from a neighbour and a short copy's end show), and between them one word in
 * SPARSE_STRIDE (a copy cut short or a block overlapping another still shows, to within 64
 * bytes). Each covered byte holds what the full pattern holds there, so a block written sparsely
 * verifies sparsely after a copy to another address, and a prefix of it verifies as such.
 */
export const SPARSE_HEAD = 256;
export const SPARSE_TAIL = 64;
export const SPARSE_STRIDE = 16;

/** Writes the sparse pattern of `id` over a block of `n` bytes at `p` (the whole pattern when it is short). */
export function fillSparse(u8: Uint8Array, p: number, n: number, id: number): void {
  const s = seed(id);
  if (n <= SPARSE_HEAD + SPARSE_TAIL) return fillRange(u8, p, 0, n, s);
  fillRange(u8, p, 0, SPARSE_HEAD, s);
  const end = n - SPARSE_TAIL;
  const w = (p & 3) === 0 ? wordsOf(u8) : null;
  for (let k = SPARSE_HEAD; k + 4 <= end; k += 4 * SPARSE_STRIDE) {
    if (w !== null) w[(p + k) >>> 2] = word(s, k >>> 2);
    else fillRange(u8, p, k, k + 4, s);
  }
  fillRange(u8, p, end, n, s);
}

/**
 * Checks the bytes that {@link fillSparse} wrote for a block of `n` bytes at `p`, or only those
 * before `upTo` (the part realloc keeps). Returns -1 when they match, or the offset of the first
 * byte that differs.
 */
export function findSparseMismatch(u8: Uint8Array, p: number, n: number, id: number, upTo = n): number {
  const s = seed(id);
  if (n <= SPARSE_HEAD + SPARSE_TAIL) return checkRange(u8, p, 0, Math.min(n, upTo), s);
  let at = checkRange(u8, p, 0, Math.min(SPARSE_HEAD, upTo), s);
  if (at >= 0) return at;
  const end = n - SPARSE_TAIL;
  const w = (p & 3) === 0 ? wordsOf(u8) : null;
  for (let k = SPARSE_HEAD; k + 4 <= end && k < upTo; k += 4 * SPARSE_STRIDE) {
    if (w === null || k + 4 > upTo || w[(p + k) >>> 2] !== word(s, k >>> 2)) {
      at = checkRange(u8, p, k, Math.min(k + 4, upTo), s);
      if (at >= 0) return at;
    }
  }
  return end < upTo ? checkRange(u8, p, end, Math.min(n, upTo), s) : -1;
}

/** Throws an Error naming the block when the first `n` bytes at `p` are not the pattern of `id`. */
export function assertPattern(u8: Uint8Array, p: number, n: number, id: number, what = "block"): void {
  const k = findPatternMismatch(u8, p, n, id);
  if (k >= 0) {
    const s = seed(id);
    throw new Error(
      `${what} #${id} at ${p} (${n} bytes): byte ${k} (address ${p + k}) is ${u8[p + k]}, expected ${patternByte(s, k)}`,
    );
  }
}

/** Offset of the first non-zero byte among the `n` bytes at `p`, or -1 when all are zero. */
export function findNonZero(u8: Uint8Array, p: number, n: number): number {
  for (let k = 0; k < n; k++) if (u8[p + k] !== 0) return k;
  return -1;
}
