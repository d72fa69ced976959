/**
 * ring — the loops of larson and mid_large_mt (one worker's part), also used by the main thread
 * to fill larson's slot arrays. Every loop is deterministic given its seed.
 *
 * A worker owns M slots: ptrs[base + i] is a block handle or 0, meta[base + i] its size | stamp << 16
 * (workers/protocol.ts, byte pattern). One operation:
 *
 *     x = xorshift32(x); slot = x mod M
 *     if ptrs[slot] != 0: verify its pattern, free it            (larson: always, the slots are full)
 *     x = xorshift32(x); size = minSize + x mod range; stamp = (x >>> 8) & 255
 *     p = malloc(size)                                           (0 is an error)
 *     write stamp at p[0] and stamp ^ 0x5a at p[size - 1]; ptrs[slot] = p; meta[slot] = size | stamp << 16
 *
 * "x mod m" is lib/rand.ts's umod (the uint32 modulus in int32 arithmetic).
 */

import { umod } from "../lib/rand.js";
import type { WorkerAllocator } from "../peers/types.js";
import { STAMP_XOR, patternError } from "./protocol.js";

/** Frees verified so far by this thread (patterns checked just before the free). */
export let verifiedFrees = 0;

/** `n` operations over slots [base, base + M); returns the PRNG state. */
export function ringOps(
  a: WorkerAllocator, ptrs: Int32Array, meta: Int32Array, base: number, M: number,
  n: number, minSize: number, range: number, x: number,
): number {
  let verified = 0;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const slot = base + umod(x, M);
    const old = ptrs[slot]!;
    if (old !== 0) {
      const m = meta[slot]!;
      const oldSize = m & 0xffff;
      const stamp = m >>> 16;
      const b0 = a.read(old, 0);
      const b1 = a.read(old, oldSize - 1);
      if (b0 !== stamp || b1 !== (stamp ^ STAMP_XOR)) throw patternError("ring", old >>> 0, oldSize, stamp, b0, b1);
      a.free(old);
      verified++;
    }
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = minSize + umod(x, range);
    const p = a.malloc(size);
    if (p === 0) throw new Error(`ring: malloc(${size}) returned 0 (allocator exhausted) at operation ${i}`);
    const stamp = (x >>> 8) & 255;
    a.write(p, 0, stamp);
    a.write(p, size - 1, stamp ^ STAMP_XOR);
    ptrs[slot] = p;
    meta[slot] = size | (stamp << 16);
  }
  verifiedFrees += verified;
  return x;
}

/** Fills slots [base, base + M) with fresh blocks (larson's start); returns the PRNG state. */
export function fillSlots(a: WorkerAllocator, ptrs: Int32Array, meta: Int32Array, base: number, M: number, minSize: number, range: number, x: number): number {
  for (let i = 0; i < M; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = minSize + umod(x, range);
    const p = a.malloc(size);
    if (p === 0) throw new Error(`fill: malloc(${size}) returned 0 (allocator exhausted)`);
    const stamp = (x >>> 8) & 255;
    a.write(p, 0, stamp);
    a.write(p, size - 1, stamp ^ STAMP_XOR);
    ptrs[base + i] = p;
    meta[base + i] = size | (stamp << 16);
  }
  return x;
}

/** Verifies and frees every block in slots [base, base + M), emptying them; returns how many. */
export function drainSlots(a: WorkerAllocator, ptrs: Int32Array, meta: Int32Array, base: number, M: number): number {
  let n = 0;
  for (let i = base; i < base + M; i++) {
    const p = ptrs[i]!;
    if (p === 0) continue;
    const m = meta[i]!;
    const size = m & 0xffff;
    const stamp = m >>> 16;
    const b0 = a.read(p, 0);
    const b1 = a.read(p, size - 1);
    if (b0 !== stamp || b1 !== (stamp ^ STAMP_XOR)) throw patternError("drain", p >>> 0, size, stamp, b0, b1);
    a.free(p);
    ptrs[i] = 0;
    n++;
  }
  verifiedFrees += n;
  return n;
}
