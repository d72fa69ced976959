/**
 * exchanger — a module worker of the browser tests' multi-worker case (cases.ts workersExchange):
 * it attaches to the page's heap, allocates its blocks (every size kind, so that the heap grows
 * while the other workers allocate too), writes each block's header and pattern (blocks.ts) and
 * lists it in the shared slot array; then, on "free", verifies and frees another worker's blocks
 * (cross-worker frees); on "dispose", disposes.
 *
 * Messages out: { type: "allocated", threadId }, { type: "freed" }, { type: "disposed" }.
 */

import { makeId, rng, stressSize, verifyBlock, writeBlock } from "../workers/blocks.js";
import { scope, workerMain, type ExchangerStart } from "./protocol.js";

workerMain<ExchangerStart>(({ attachHeap }, data) => {
  const heap = attachHeap(data.handle);
  const slots = new Int32Array(data.slots);
  const r = rng(data.seed);
  for (let i = 0; i < data.blocks; i++) {
    const len = stressSize(r);
    const p = heap.malloc(len);
    if (p === 0) throw new Error(`worker ${data.index}: malloc(${len}) returned 0`);
    writeBlock(heap, p, makeId(data.index, i), len);
    slots[data.index * data.blocks + i] = p;
  }
  scope.postMessage({ type: "allocated", threadId: heap.threadId });
  scope.onmessage = (e: MessageEvent) => {
    const msg = e.data as { type: "free"; from: number } | { type: "dispose" };
    try {
      if (msg.type === "free") {
        for (let i = 0; i < data.blocks; i++) {
          const p = slots[msg.from * data.blocks + i]!;
          verifyBlock(heap, p, `worker ${data.index} freeing worker ${msg.from}'s block ${i}`, makeId(msg.from, i));
          heap.free(p);
        }
        scope.postMessage({ type: "freed" });
      } else {
        heap.dispose();
        scope.postMessage({ type: "disposed" });
      }
    } catch (err) {
      scope.postMessage({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  };
});
