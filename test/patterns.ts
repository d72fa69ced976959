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

/** Writes the first `n` bytes of the pattern of `id` at byte offset `p` of `u8`. */
export function fillPattern(u8: Uint8Array, p: number, n: number, id: number): void {
  const s = seed(id);
  const at = u8.byteOffset + p;
  let k = 0;
  if (at % 4 === 0 && n >= 4) {
    const words = new Int32Array(u8.buffer, at, n >>> 2);
    for (let j = 0; j < words.length; j++) words[j] = word(s, j);
    k = words.length * 4;
  }
  for (; k < n; k++) u8[p + k] = patternByte(s, k);
}

/**
 * Checks the first `n` bytes at `p` against the pattern of `id`. Returns -1 when they match, or
 * the offset (from `p`) of the first byte that differs.
 */
export function findPatternMismatch(u8: Uint8Array, p: number, n: number, id: number): number {
  const s = seed(id);
  const at = u8.byteOffset + p;
  let k = 0;
  if (at % 4 === 0 && n >= 4) {
    const words = new Int32Array(u8.buffer, at, n >>> 2);
    for (let j = 0; j < words.length; j++) {
      if (words[j] !== word(s, j)) {
        k = j * 4;
        while (u8[p + k] === patternByte(s, k)) k++;
        return k;
      }
    }
    k = words.length * 4;
  }
  for (; k < n; k++) if (u8[p + k] !== patternByte(s, k)) return k;
  return -1;
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
