/**
 * lock — the heap lock: a three-state futex mutex (Drepper, "Futexes Are Tricky") on one int32.
 *
 * States: 0 unlocked, 1 locked, 2 locked with (possible) waiters. Only slow paths take it:
 * acquiring and releasing spans, growth, statistics walks. Uncontended it costs one
 * compareExchange and one atomic subtract.
 *
 * Invariants:
 * - Never held across a call into user code, and never taken twice by the same worker (there is
 *   no re-entry; a worker that finds the lock held on a non-shared buffer has a bug, and says so).
 * - Waiting spins briefly, then sleeps in Atomics.wait; where waiting is not allowed (a browser's
 *   main thread) it keeps spinning.
 */

const SPINS = 100;

/** Takes the lock at word `index` of `i32`. */
export function lock(i32: Int32Array, index: number): void {
  if (Atomics.compareExchange(i32, index, 0, 1) === 0) return;
  lockContended(i32, index);
}

/** Releases the lock at word `index` of `i32`. */
export function unlock(i32: Int32Array, index: number): void {
  if (Atomics.sub(i32, index, 1) !== 1) {
    Atomics.store(i32, index, 0);
    Atomics.notify(i32, index, 1);
  }
}

function lockContended(i32: Int32Array, index: number): void {
  if (!(i32.buffer instanceof SharedArrayBuffer)) {
    throw new Error("hakmem: the heap lock is already held by this worker (re-entrant call into the heap)");
  }
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(i32, index) === 0 && Atomics.compareExchange(i32, index, 0, 1) === 0) return;
  }
  let canWait = true;
  while (Atomics.exchange(i32, index, 2) !== 0) {
    if (canWait) {
      try {
        Atomics.wait(i32, index, 2, 10);
      } catch {
        canWait = false; // e.g. a browser's main thread: spin instead
      }
    }
  }
}
