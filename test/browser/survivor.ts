/**
 * survivor — a module worker of the browser tests' terminate case (cases.ts terminateAndReclaim):
 * it allocates and frees without pause for the whole test while victims come and go, and frees
 * the blocks victims hand over (cross-worker frees into pages that are then taken over).
 *
 * Each step frees a random slot of its ring of blocks, after verifying the block's header and
 * pattern (blocks.ts: a block handed out twice, or written by a dead worker after its pages were
 * taken over, fails here), and allocates a new one; every 8 steps it empties the handoff slots it
 * consumes (slot i belongs to survivor i % survivors), verifying each block before freeing it.
 * Every 128 steps it naps 2 ms and looks at the control words: a pause request is answered (Ctl.ACKS) and
 * waited out with Atomics.wait, so that the page can check() a quiet heap; Ctl.STOP ends it: it
 * frees everything it holds, disposes, and posts { type: "stopped", ops }.
 */

import { makeId, verifyBlock, writeBlock } from "../workers/blocks.js";
import { Ctl, scope, workerMain, xorshift, type SurvivorStart } from "./protocol.js";

const RING = 256;

workerMain<SurvivorStart>(({ attachHeap }, data) => {
  const heap = attachHeap(data.handle);
  const ctl = new Int32Array(data.ctl);
  const handoffPtr = new Int32Array(data.handoffPtr);
  const handoffId = new Int32Array(data.handoffId);
  const ring = new Int32Array(RING);
  const ids = new Int32Array(RING);
  let x = data.seed | 1;
  let counter = 0;
  let paused = 0;
  let ops = 0;

  const takeHandoffs = (): void => {
    for (let i = data.index; i < handoffPtr.length; i += data.survivors) {
      const p = Atomics.load(handoffPtr, i);
      if (p === 0) continue;
      verifyBlock(heap, p, `survivor ${data.index}: handoff slot ${i}`, handoffId[i]! >>> 0);
      heap.free(p);
      Atomics.store(handoffPtr, i, 0);
      Atomics.add(ctl, Ctl.HANDOFFS, 1);
    }
  };

  scope.postMessage({ type: "ready", threadId: heap.threadId });
  for (;;) {
    for (let j = 0; j < 128; j++) {
      x = xorshift(x);
      const k = x & (RING - 1);
      if (ring[k] !== 0) {
        verifyBlock(heap, ring[k]!, `survivor ${data.index}: ring slot ${k}`, ids[k]! >>> 0);
        heap.free(ring[k]!);
      }
      x = xorshift(x);
      // Mostly small blocks, one in 32 a mid-sized one (1..64 KiB).
      const len = (x & 31) === 0 ? 1024 + ((x >>> 5) & 0xffff) : 8 + ((x >>> 5) & 1023);
      const p = heap.malloc(len);
      if (p === 0) throw new Error(`survivor ${data.index}: malloc(${len}) returned 0`);
      const id = makeId(data.origin, counter++);
      writeBlock(heap, p, id, len);
      ring[k] = p;
      ids[k] = id;
      ops++;
      if ((j & 7) === 0) takeHandoffs();
    }
    Atomics.add(ctl, Ctl.SURVIVOR_OPS, 128);
    // A nap of 2 ms after each chunk (about 0.5 ms of work): the survivors keep allocating through
    // every round but leave most of the machine's two cores to the victims and to other tests.
    Atomics.wait(ctl, Ctl.NAP, 0, 2);
    const requested = Atomics.load(ctl, Ctl.PAUSE_REQ);
    if (requested > paused) {
      paused = requested;
      Atomics.add(ctl, Ctl.ACKS, 1);
      for (let r = Atomics.load(ctl, Ctl.RESUMED); r < paused; r = Atomics.load(ctl, Ctl.RESUMED)) Atomics.wait(ctl, Ctl.RESUMED, r, 100);
    }
    if (Atomics.load(ctl, Ctl.STOP) !== 0) break;
  }
  takeHandoffs();
  for (let k = 0; k < RING; k++) {
    if (ring[k] === 0) continue;
    verifyBlock(heap, ring[k]!, `survivor ${data.index}: ring slot ${k} at the end`, ids[k]! >>> 0);
    heap.free(ring[k]!);
  }
  heap.dispose();
  scope.postMessage({ type: "stopped", ops });
});
