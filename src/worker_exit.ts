/**
 * worker exit — reclaiming a worker's pages when it ends without dispose().
 *
 * A worker stopped by `worker.terminate()` runs no cleanup of its own (Node does not run
 * `process.on('exit')` in it), so a survivor must take its pages over: `reclaimOnExit` does it
 * on the Worker's `exit` event. A worker that did dispose() leaves nothing to reclaim, and the
 * call then does nothing. Browsers' Web Workers have no exit event: call
 * `heap.reclaimThread(id)` right after `worker.terminate()` instead.
 */

import type { Heap } from "./heap.js";

/** What `reclaimOnExit` needs of a worker: Node's `Worker` has it. */
export interface ExitEvents {
  /** Calls `listener` once, when the worker has exited. */
  once(event: "exit", listener: (code: number) => void): unknown;
}

/**
 * Reclaims the pages of the worker whose heap thread id is `threadId` (its `heap.threadId`, sent
 * to this thread) when `worker` exits, through this thread's `heap`. Errors (this heap disposed
 * meanwhile) go to `onError`, by default console.error.
 */
export function reclaimOnExit(
  heap: Heap,
  worker: ExitEvents,
  threadId: number,
  onError: (err: unknown) => void = (err) => console.error(err),
): void {
  worker.once("exit", () => {
    try {
      heap.reclaimThread(threadId);
    } catch (err) {
      onError(err);
    }
  });
}
