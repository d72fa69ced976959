/**
 * victim — a module worker of the browser tests' terminate case (cases.ts terminateAndReclaim)
 * that the page terminates without dispose().
 *
 * Each step frees a random slot of its ring (kept in shared memory, so that the page can verify
 * and free the blocks after the victim's death: a slot is cleared before its block is freed and
 * set only once its new block is written, so every non-zero slot names a whole block) and
 * allocates a new one: mostly small, one in 16 mid-sized (to 64 KiB), one in 128 large (256 KiB
 * and more: spans, taken under the heap lock). Every 4 steps it hands a block over to a survivor
 * through its handoff slots. It bumps its progress word each step.
 *
 * With registerFirst, it first waits until the lock manager holds its liveness lock; without,
 * it never returns to its event loop after attaching, and Chromium never sees that lock
 * (liveness.ts: reclaimWhenGone then waits out its grace). After `steps` steps it posts
 * { type: "ready", threadId }. A busy victim then runs steps forever
 * (Chromium stops it about 2 s after terminate(), and until then it allocates and frees); an idle
 * one returns to its event loop, holding pages, cached blocks and handed-over blocks.
 */

import { makeId, verifyBlock, writeBlock } from "../workers/blocks.js";
import { Ctl, HANDOFF_SLOTS, VICTIM_RING, scope, workerMain, xorshift, type VictimStart } from "./protocol.js";

workerMain<VictimStart>(async ({ attachHeap }, data) => {
  Atomics.wait(new Int32Array(data.go), 0, 0);
  const heap = attachHeap(data.handle);
  const ctl = new Int32Array(data.ctl);
  const ringPtr = new Int32Array(data.ringPtr);
  const ringId = new Int32Array(data.ringId);
  const handoffPtr = new Int32Array(data.handoffPtr);
  const handoffId = new Int32Array(data.handoffId);
  const firstSlot = data.position * HANDOFF_SLOTS;
  const progress = Ctl.VICTIM_PROGRESS + data.position;
  let x = data.seed | 1;
  let counter = 0;
  let handoffAt = 0;

  const allocate = (): { p: number; id: number } => {
    x = xorshift(x);
    const kind = x & 127;
    const len = kind === 0 ? (256 << 10) + ((x >>> 7) & 0x3ffff) : (kind & 15) === 1 ? 1024 + ((x >>> 7) & 0xffff) : 8 + ((x >>> 7) & 2047);
    const p = heap.malloc(len);
    if (p === 0) throw new Error(`victim ${data.origin}: malloc(${len}) returned 0`);
    const id = makeId(data.origin, counter++);
    writeBlock(heap, p, id, len);
    return { p, id };
  };

  const step = (): void => {
    x = xorshift(x);
    const k = x & (VICTIM_RING - 1);
    const old = ringPtr[k]!;
    if (old !== 0) {
      Atomics.store(ringPtr, k, 0);
      verifyBlock(heap, old, `victim ${data.origin}: ring slot ${k}`, ringId[k]! >>> 0);
      heap.free(old);
    }
    const b = allocate();
    ringId[k] = b.id;
    Atomics.store(ringPtr, k, b.p);
    if ((counter & 3) === 0) {
      const i = firstSlot + (handoffAt++ % HANDOFF_SLOTS);
      if (Atomics.load(handoffPtr, i) === 0) {
        const h = allocate();
        handoffId[i] = h.id;
        Atomics.store(handoffPtr, i, h.p);
      }
    }
    Atomics.add(ctl, progress, 1);
  };

  const lockName = new RegExp(`^hakmem:[0-9a-f]+:${heap.threadId}$`);
  while (data.registerFirst && !(await navigator.locks.query()).held?.some((l) => lockName.test(l.name ?? ""))) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  for (let s = 0; s < data.steps; s++) step();
  scope.postMessage({ type: "ready", threadId: heap.threadId });
  if (data.busy) for (;;) step();
});
