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
 *   survivor whose own request for it is granted knows.
 * - Node's `exit` event on the Worker (Node 20 has no Web Locks): emitted once the thread has
 *   stopped; `worker.threadId` reads -1 afterwards.
 * `reclaimWhenGone` waits for whichever applies, marks the thread's slot ENDED and reclaims it.
 * `Heap.reclaimThread` refuses a thread not known to have ended unless the caller says it has.
 *
 * Invariant: a thread slot moves ALIVE → ENDED only on one of the signals above (or on the
 * caller's word, `{ ended: true }`), and pages are taken over only from a slot in ENDED.
 */

import type { Heap } from "./heap.js";

/** What `reclaimWhenGone` needs of a Node Worker (a browser Worker needs nothing). */
export interface ExitEvents {
  /** Calls `listener` once, when the worker has exited. */
  once(event: "exit", listener: (code: number) => void): unknown;
  /** The worker's thread id; Node sets it to -1 once the worker has exited. */
  readonly threadId?: number;
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
 * Takes the liveness lock of thread `tid` of heap `heapId` where the runtime has Web Locks, and
 * returns what releases it (dispose), or undefined where there are none. The request is made now;
 * the lock manager grants it whenever it gets to it, whether or not this thread is busy.
 */
export function holdLivenessLock(heapId: number, tid: number): (() => void) | undefined {
  const locks = webLocks();
  if (locks === undefined) return undefined;
  let release!: () => void;
  const held = new Promise<void>((resolve) => (release = resolve));
  locks.request(livenessLockName(heapId, tid), () => held).catch(() => {});
  return release;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** How long (ms) a survivor looks for a worker's liveness lock request before deciding it has none. */
const LOCK_SEARCH_MS = 250;

/**
 * Resolves once the holder of the liveness lock `name` has ended (or released it). The worker
 * requested the lock when it attached; until the lock manager shows that request, held or
 * pending, a request of ours could be granted first. So: look for it a while; a worker whose
 * request never shows has ended (or disposed) already.
 */
async function lockReleased(locks: WebLocks, name: string): Promise<void> {
  const deadline = Date.now() + LOCK_SEARCH_MS;
  for (;;) {
    const q = await locks.query();
    if ([...(q.held ?? []), ...(q.pending ?? [])].some((l) => l.name === name)) break;
    if (Date.now() > deadline) break;
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
 *   which happens only when the worker has really stopped (a busy Chromium worker: ~2 s);
 * - in Node without Web Locks, it waits for `worker`'s `exit` event.
 *
 * ```ts
 * worker.terminate();
 * await reclaimWhenGone(heap, worker, workerThreadId);
 * ```
 * @param worker the Worker; needed in Node (its `exit` event), ignored where Web Locks exist.
 * @throws TypeError (the promise rejects) when the runtime has no Web Locks and `worker` has no
 * `once("exit")`; RangeError on a bad `threadId`.
 */
export async function reclaimWhenGone(heap: Heap, worker: ExitEvents | undefined, threadId: number): Promise<number> {
  heap.checkReclaimable(threadId, "reclaimWhenGone");
  const locks = webLocks();
  if (locks !== undefined) {
    await lockReleased(locks, livenessLockName(heap.heapId, threadId));
  } else if (worker !== undefined && typeof worker.once === "function") {
    if (worker.threadId !== -1) await new Promise<void>((resolve) => worker.once("exit", () => resolve()));
  } else {
    throw new TypeError(
      "hakmem: reclaimWhenGone(heap, worker, threadId): this runtime has no Web Locks (navigator.locks), so the Worker is needed to learn when it exits (Node's worker.once(\"exit\"))",
    );
  }
  return heap.reclaimThread(threadId, { ended: true });
}
