/**
 * rand — the pseudo-random numbers every workload draws, and the one modulus they all use.
 *
 * Generator: xorshift32 (Marsaglia 2003), state x a uint32 seeded with 42 unless a workload says
 * otherwise; one step is
 *
 *     x ^= x << 13;  x ^= x >>> 17;  x ^= x << 5;       (all as uint32)
 *
 * The state is held in an int32 variable (same 32 bits; `<<` and `^` produce int32 in JS), so the
 * hot loops never see a double. The hot loops inline the three lines above themselves; `xorshift32`
 * below is the same step for cold code and tests.
 *
 * Modulus: a workload's "r mod m" always means the uint32 modulus `(r >>> 0) % m` (as in the C
 * seed), but it is never computed that way: in V8, `%` on a uint32 at or above 2^31 takes the
 * floating-point path (~12 ns, DESIGN.md §5). Instead:
 *   - m a power of two: `r & (m - 1)`                           (exactly the uint32 modulus)
 *   - otherwise:        `umod(r, m)` = `((r >>> 1) % m * 2 + (r & 1)) % m`
 * which is exact because u = 2·(u >>> 1) + (u & 1), and stays in int32 for m < 2^30.
 * Every peer runs the very same code, so the cost is the same for all of them.
 */

/** One xorshift32 step on a state held as int32; returns the new state (int32 bits of a uint32). */
export function xorshift32(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x | 0;
}

/** `(r >>> 0) % m` for any int32 `r` and 0 < m < 2^30, in int32 arithmetic only. */
export function umod(r: number, m: number): number {
  return ((((r >>> 1) % m) * 2 + (r & 1)) % m) | 0;
}

/** True when `m` is a power of two (then `r & (m - 1)` is the modulus). */
export function isPowerOfTwo(m: number): boolean {
  return m > 0 && (m & (m - 1)) === 0;
}
