/**
 * lock_holder — a module worker of the browser tests' lock case (cases.ts mainThreadGivesUp): it
 * attaches to the page's heap, takes the heap lock as the heap's slow paths do (its Region's
 * lock(), an internal), posts { type: "locked", threadId } and goes idle with the lock held: what a
 * worker terminated inside the heap leaves behind.
 */

import { scope, workerMain, type LockHolderStart } from "./protocol.js";

/** The internal a Heap holds its region in. */
interface Internals {
  region: { lock(): void };
}

workerMain<LockHolderStart>(({ attachHeap }, data) => {
  const heap = attachHeap(data.handle);
  (heap as unknown as Internals).region.lock();
  scope.postMessage({ type: "locked", threadId: heap.threadId });
});
