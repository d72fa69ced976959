/**
 * lock — the heap lock: a futex-style mutex on one int32 that remembers who holds it.
 *
 * The word holds 0 when free, else (holder << 1) | waiters: the holder's thread id and a bit
 * saying someone may be sleeping on it. Only slow paths take it: acquiring and releasing spans,
 * growth, abandoning and adopting pages, statistics walks. Uncontended it costs one
 * compareExchange and one exchange.
 *
 * Invariants:
 * - Never held across a call into user code, and never taken twice by the same worker (there is
 *   no re-entry; finding one's own id in the word is a bug, and says so).
 * - Waiting spins briefly, then sleeps in Atomics.wait; where waiting is not allowed (a browser's
 *   main thread) it spins, but for NO_WAIT_LIMIT_MS at most, then throws: a holder that long is a
 *   worker terminated inside the heap, and spinning on would keep the page's event loop from ever
 *   learning that (liveness.ts), a hang for good.
 * - A worker stopped by `terminate()` inside the lock leaves its id in the word: `takeOverLock`
 *   lets a survivor that reclaims that worker take it, repair, and release it.
 */

const SPINS = 100;
/** How long a thread that cannot Atomics.wait spins for the lock before it gives up. */
const NO_WAIT_LIMIT_MS = 1000;

/** Takes the lock at word `index` of `i32` for `holder` (a thread id, > 0). */
export function lock(i32: Int32Array, index: number, holder: number): void {
  if (Atomics.compareExchange(i32, index, 0, holder << 1) === 0) return;
  lockContended(i32, index, holder);
}

/** Releases the lock at word `index` of `i32`. */
export function unlock(i32: Int32Array, index: number): void {
  if ((Atomics.exchange(i32, index, 0) & 1) !== 0) Atomics.notify(i32, index, 1);
}

/**
 * Takes the lock over from `dead` (a worker that was terminated while holding it) for `holder`,
 * keeping the waiters bit, so that no waiting worker slips in before the taker has repaired what
 * the dead worker left half done. True when `holder` now holds it (release with `unlock`).
 */
export function takeOverLock(i32: Int32Array, index: number, dead: number, holder: number): boolean {
  const v = Atomics.load(i32, index);
  return v !== 0 && v >>> 1 === dead && Atomics.compareExchange(i32, index, v, (holder << 1) | (v & 1)) === v;
}

function lockContended(i32: Int32Array, index: number, holder: number): void {
  if (Atomics.load(i32, index) >>> 1 === holder || typeof SharedArrayBuffer === "undefined" || !(i32.buffer instanceof SharedArrayBuffer)) {
    throw new Error("hakmem: the heap lock is already held by this worker (re-entrant call into the heap)");
  }
  const mine = holder << 1;
  for (let i = 0; i < SPINS; i++) {
    if (Atomics.load(i32, index) === 0 && Atomics.compareExchange(i32, index, 0, mine) === 0) return;
  }
  let canWait = true;
  let giveUpAt = 0;
  for (;;) {
    const v = Atomics.load(i32, index);
    if (v === 0) {
      // Taken after waiting: keep the waiters bit, others may still sleep.
      if (Atomics.compareExchange(i32, index, 0, mine | 1) === 0) return;
      continue;
    }
    if ((v & 1) === 0 && Atomics.compareExchange(i32, index, v, v | 1) !== v) continue;
    if (canWait) {
      try {
        Atomics.wait(i32, index, v | 1, 10);
      } catch {
        canWait = false; // e.g. a browser's main thread: spin instead
        giveUpAt = Date.now() + NO_WAIT_LIMIT_MS;
      }
    } else if (Date.now() > giveUpAt) {
      throw new Error(
        `hakmem: the heap lock has been held by thread ${v >>> 1} for over ${NO_WAIT_LIMIT_MS} ms, and this thread (a browser's main thread?) cannot wait for it: ` +
          `thread ${v >>> 1} was probably terminated inside the heap. Reclaim it (await reclaimWhenGone(heap, worker, ${v >>> 1})) and call again`,
      );
    }
  }
}
