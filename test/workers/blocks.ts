/**
 * blocks — what the multi-worker tests write into the blocks they allocate, and how they check
 * it, from any worker.
 *
 * A block of `len` requested bytes holds a header and a pattern:
 *
 * ```
 * word 0: id                      (uint32; the allocating worker's number in the top 10 bits)
 * word 1: len | check(id, len) << 24
 * bytes 8 .. len: the pattern of id (patterns.ts)
 * ```
 *
 * so that a worker that receives a bare pointer (from the transfer array) can verify the block
 * completely: the check byte catches a damaged header, the pattern a damaged or overlapping body.
 * Blocks of fewer than 8 requested bytes still hold the header: their usable size is at least 8
 * (in checked mode the tests request at least 8 bytes, since there the usable size is the
 * request). Also: a small deterministic PRNG and the size mix of the stress test.
 */

import type { Heap } from "../../src/index.js";
import { fillPattern, findPatternMismatch } from "../patterns.js";

export const HEADER_BYTES = 8;
const LEN_MASK = 0xffffff;
/** Bits of the id that number the allocating worker (the rest count its blocks). */
export const ORIGIN_SHIFT = 22;
const COUNTER_MASK = (1 << ORIGIN_SHIFT) - 1;

/** mulberry32: a small deterministic PRNG giving floats in [0, 1). */
export function rng(seed: number): () => number {
  let a = seed | 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [lo, hi] (inclusive). */
export function between(r: () => number, lo: number, hi: number): number {
  return lo + Math.floor(r() * (hi - lo + 1));
}

/** An integer in [lo, hi], log-uniformly distributed (as many 1K..2K requests as 128K..256K). */
export function logBetween(r: () => number, lo: number, hi: number): number {
  return Math.min(hi, Math.floor(lo * Math.pow(hi / lo, r())));
}

/**
 * The stress test's size mix, over all classes: 90 % small (0..1024), 9 % mid (1 KiB..256 KiB,
 * log-uniform), 1 % large (256 KiB..1 MiB).
 */
export function stressSize(r: () => number): number {
  const x = r();
  if (x < 0.9) return between(r, 0, 1024);
  if (x < 0.99) return logBetween(r, 1025, 256 << 10);
  return between(r, (256 << 10) + 1, 1 << 20);
}

/** Block ids: worker `origin` (mod 1024) numbers its blocks 0, 1, 2, ... (mod 2^22). */
export function makeId(origin: number, counter: number): number {
  return (((origin & 0x3ff) << ORIGIN_SHIFT) | (counter & COUNTER_MASK)) >>> 0;
}

export function originOf(id: number): number {
  return id >>> ORIGIN_SHIFT;
}

function checkByte(id: number, len: number): number {
  let h = Math.imul(id ^ 0x27d4eb2f, 0x165667b1) ^ Math.imul(len, 0x9e3779b1);
  h ^= h >>> 15;
  return (Math.imul(h, 0x85ebca77) >>> 24) & 0xff;
}

/** The size to request for a block that must hold `len` bytes of header and pattern. */
export function requestFor(len: number, checked: boolean): number {
  return checked ? Math.max(len, HEADER_BYTES) : len;
}

/** Writes the header and pattern of block `id` of `len` bytes at `p`. */
export function writeBlock(heap: Heap, p: number, id: number, len: number): void {
  const u8 = heap.u8;
  const w = new Int32Array(u8.buffer, p, 2);
  w[0] = id | 0;
  w[1] = (len | (checkByte(id, len) << 24)) | 0;
  if (len > HEADER_BYTES) fillPattern(u8, p + HEADER_BYTES, len - HEADER_BYTES, id);
}

/** What a verified block holds. */
export interface BlockHeader {
  id: number;
  len: number;
}

/**
 * Verifies the block at `p`: its header is intact (and names `expectId` when given), its length
 * fits its usable size, and its pattern is intact. Returns the header; throws an Error naming the
 * block and the first damage otherwise.
 */
export function verifyBlock(heap: Heap, p: number, what: string, expectId?: number): BlockHeader {
  const u8 = heap.u8;
  if (p === 0 || p % 8 !== 0 || p + HEADER_BYTES > u8.length) {
    throw new Error(`${what}: pointer ${p} is not an 8-aligned pointer inside the buffer (${u8.length} bytes)`);
  }
  const w = new Int32Array(u8.buffer, p, 2);
  const id = w[0]! >>> 0;
  const len = w[1]! & LEN_MASK;
  const check = w[1]! >>> 24;
  if (check !== checkByte(id, len)) {
    throw new Error(`${what}: block at ${p}: header damaged (id ${id}, word 1 = 0x${(w[1]! >>> 0).toString(16)})`);
  }
  if (expectId !== undefined && id !== expectId) {
    throw new Error(`${what}: block at ${p}: header holds id ${id}, expected ${expectId}`);
  }
  const usable = heap.usableSize(p);
  if (usable < Math.max(len, HEADER_BYTES)) {
    throw new Error(`${what}: block #${id} at ${p}: usableSize ${usable} < its length ${len}`);
  }
  if (len > HEADER_BYTES) {
    const k = findPatternMismatch(u8, p + HEADER_BYTES, len - HEADER_BYTES, id);
    if (k >= 0) {
      throw new Error(
        `${what}: block #${id} at ${p} (${len} bytes, usable ${usable}): pattern damaged at byte ${k + HEADER_BYTES} (address ${p + HEADER_BYTES + k})`,
      );
    }
  }
  return { id, len };
}

/** Checks the alignment that malloc promises: 16 for blocks of 16 bytes and more, else 8. */
export function checkAlignment(p: number, usable: number, what: string): void {
  const a = usable >= 16 ? 16 : 8;
  if (p % a !== 0) throw new Error(`${what}: block at ${p} (usable ${usable}) is not ${a}-byte aligned`);
}
