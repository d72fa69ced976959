/**
 * liveness — knowing that a worker can no longer run, before its pages are taken over.
 *
 * A worker stopped by `terminate()` runs no cleanup of its own (Node does not run
 * `process.on("exit")` in it; a Web Worker has no exit event at all), so a survivor must take its
 * pages over (Heap.reclaimThread). That is safe only once the worker can no longer run:
 * `terminate()` is asynchronous everywhere, and Chromium stops a busy Web Worker only about two
 * seconds later. A reclaim before that hands the worker's pages to others while it still
 * allocates from them: blocks handed out twice, free lists that loop.
 *
 * The signals, by runtime:
 * - Web Locks (browsers; Deno; Node from 22): every Heap, when it is created or attached,
 *   requests an exclusive lock named after the heap and its thread id and holds it until
 *   dispose(). The lock manager releases it when the agent that holds it has really ended, so a
 *   survivor whose own request for it is granted knows. But a request reaches Chromium's lock
 *   manager only once the worker's event loop turns: a worker that attaches and then runs on
 *   without returning to it (measured: its lock is never held, even 500 ms later) has no lock to
 *   watch. So the grant is also marked in the thread slot (T.LIVENESS): a lock not held whose
 *   grant was marked was released (the worker ended or disposed); a lock never seen is waited for,
 *   UNREGISTERED_GRACE_MS at most, and then the worker is taken for gone: Chromium stops a busy
 *   worker 2 s after terminate(), and other browsers sooner.
 * - Node's `exit` event on the Worker (Node 20 has no Web Locks): emitted once the thread has
 *   stopped; `worker.threadId` reads -1 afterwards.
 * `reclaimWhenGone` waits for whichever applies, marks the thread's slot ENDED and reclaims it.
 * `Heap.reclaimThread` refuses a thread not known to have ended unless the caller says it has.
 *
 * Invariant: a thread slot moves ALIVE → ENDED only on one of the signals above (or on the
 * caller's word, `{ ended: true }`), and pages are taken over only from a slot in ENDED. The one
 * timing assumption: a worker that never returned to its event loop after attaching has stopped
 * UNREGISTERED_GRACE_MS after reclaimWhenGone was called (which follows terminate()).
 */

import type { Heap } from "./heap.js";

/** What `reclaimWhenGone` needs of a Node Worker. */
export interface ExitEvents {
  /** Calls `listener` once, when the worker has exited. */
  once(event: "exit", listener: (code: number) => void): unknown;
  /** The worker's thread id; Node sets it to -1 once the worker has exited. */
  readonly threadId?: number;
}

/** A Web Worker (or anything with terminate()): where Web Locks exist, nothing more is needed of it. */
export interface Terminable {
  /** Stops the worker (Worker.terminate). */
  terminate(): unknown;
}

interface LockInfo {
  name?: string;
}
interface WebLocks {
  request(name: string, callback: () => Promise<void>): Promise<void>;
  request(name: string, options: { ifAvailable?: boolean }, callback: (lock: unknown) => Promise<void>): Promise<void>;
  query(): Promise<{ held?: LockInfo[]; pending?: LockInfo[] }>;
}

/** The runtime's Web Locks (navigator.locks), or undefined. */
function webLocks(): WebLocks | undefined {
  const nav = (globalThis as { navigator?: { locks?: WebLocks } }).navigator;
  return nav?.locks;
}

/** Name of the Web Lock that thread `tid` of the heap `heapId` holds while it lives. */
export function livenessLockName(heapId: number, tid: number): string {
  return `hakmem:${(heapId >>> 0).toString(16)}:${tid}`;
}

/**
 * Requests the liveness lock of thread `tid` of heap `heapId` where the runtime has Web Locks, and
 * returns what releases it (dispose), or undefined where there are none. The request is made now;
 * Chromium's lock manager sees it once this thread's event loop turns. `granted` runs when the
 * lock is held (in this thread, so again only once its event loop turns).
 */
export function holdLivenessLock(heapId: number, tid: number, granted: () => void): (() => void) | undefined {
  const locks = webLocks();
  if (locks === undefined) return undefined;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  locks
    .request(livenessLockName(heapId, tid), () => {
      granted();
      return held;
    })
    .catch(() => {});
  return release;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * How long (ms) reclaimWhenGone waits for the liveness lock of a worker that never showed one
 * before it takes the worker for gone: more than twice the 2 s after which Chromium stops a busy
 * worker that was terminated.
 */
const UNREGISTERED_GRACE_MS = 5000;

/**
 * Resolves once the holder of the liveness lock `name` has ended (or released it). Until the
 * lock manager shows the worker's request, held or pending, a request of ours could be granted
 * first; so first look for it. Not shown, it was released if `granted()` said so before the look
 * (then nothing is left to wait for), or it was never made known: look again until the grace ends.
 */
async function lockReleased(locks: WebLocks, name: string, granted: () => boolean): Promise<void> {
  const deadline = Date.now() + UNREGISTERED_GRACE_MS;
  for (;;) {
    const wasGranted = granted();
    const q = await locks.query();
    if ([...(q.held ?? []), ...(q.pending ?? [])].some((l) => l.name === name)) break;
    if (wasGranted || Date.now() > deadline) return;
    await sleep(10);
  }
  await locks.request(name, async () => {});
}

/**
 * Takes over the pages of the worker whose heap thread id is `threadId` (its `heap.threadId`),
 * once that worker can no longer run — after `worker.terminate()`, or when it ended any other
 * way without `dispose()`. Resolves to the number of pages taken over (0 when the worker had
 * disposed). Safe to call right after `terminate()` in both runtimes:
 * - where Web Locks exist (browsers), it waits until the worker's liveness lock is released,
 *   which happens only when the worker has really stopped (a busy Chromium worker: ~2 s). A
 *   worker that never returned to its event loop after attaching never got its lock: then it
 *   waits 5 s, by which time browsers have stopped it;
 * - in Node without Web Locks, it waits for `worker`'s `exit` event.
 *
 * ```ts
 * worker.terminate();
 * await reclaimWhenGone(heap, worker, workerThreadId);
 * ```
 * @param worker the Worker (a Node Worker or a Web Worker); needed in Node (its `exit` event),
 * ignored where Web Locks exist.
 * @throws TypeError (the promise rejects) when the runtime has no Web Locks and `worker` has no
 * `once("exit")`; RangeError on a bad `threadId`.
 */
export async function reclaimWhenGone(heap: Heap, worker: ExitEvents | Terminable | undefined, threadId: number): Promise<number> {
  heap.checkReclaimable(threadId, "reclaimWhenGone");
  const locks = webLocks();
  if (locks !== undefined) {
    await lockReleased(locks, livenessLockName(heap.heapId, threadId), () => heap.livenessGranted(threadId));
  } else if (worker !== undefined && "once" in worker && typeof worker.once === "function") {
    if (worker.threadId !== -1) await new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  } else {
    throw new TypeError(
      "hakmem: reclaimWhenGone(heap, worker, threadId): this runtime has no Web Locks (navigator.locks), so the Worker is needed to learn when it exits (Node's worker.once(\"exit\"))",
    );
  }
  return heap.reclaimThread(threadId, { ended: true });
}
