/**
 * ring_worker — one worker of larson (workloads/larson.ts) or mid_large_mt (mid_large_mt.ts): the
 * loop of workers/ring.ts over slot array k, for generation g (or, in "single" mode, for every
 * generation in turn).
 *
 * Life of a worker:
 * 1. Load the peer and warm the loop up, so that the timed part runs optimized code — the hot
 *    loop and every path it will take, or V8 deoptimizes and recompiles (~15 ms a time on these
 *    machines) inside the timed part when it first meets a path it has no feedback for:
 *    "shared" mode, a larson in miniature on this worker's warm heap (a second shared instance
 *    the main thread made for it): one thread heap fills M slots, then 4 thread heaps (all attached
 *    first) in turn do warmOps/4 operations each and dispose (remote frees, adoption of abandoned
 *    pages, dispose); the filler grows the heap by 3.5 MiB before each touches a byte beyond its
 *    view, and again halfway through each generation (stale views, as when other workers grow
 *    the heap in the timed part); other modes, 2 × warmOps/2 operations on a private instance.
 *    Every warm block but the filler's large ones is freed (the warm heap is then discarded).
 *    Rare allocator paths may still first show up in the timed part: a one-off deopt each.
 *    Then fill slot array k when told to (larson in "gc" and "single" modes: the first generation
 *    fills its own; in "shared" mode the main thread did).
 * 2. READY, then wait for GO (generation 0) or for the hand-over of array k (generation g > 0:
 *    handoff word k reaches g). In "gc" mode the blocks themselves arrive in a postMessage from
 *    the previous generation (cloned), and go into this worker's table.
 * 3. R operations (the timed part).
 * 4. Not the last generation: ("gc": take the blocks out and post them on), dispose the allocator
 *    (hakmem: its pages are abandoned for others to adopt), hand array k over (handoff word k =
 *    g + 1). The last generation: note the end time, then (untimed) verify and free every block
 *    left, and dispose.
 * 5. Post the result and stay parked until terminated.
 */

import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import type { GcBlockMover, WorkerAllocator } from "../peers/types.js";
import { drainSlots, fillSlots, ringOps, verifiedFrees } from "./ring.js";
import { endTimed, loadWorkerPeer, nowNs, readyThenGo, seedFor, waitAtLeast, workerMain, type WorkerBase, type WorkerResult } from "./protocol.js";

export interface RingWorkerData extends WorkerBase {
  /** Slot array this worker works on, and its generation (first of `generations`). */
  k: number;
  /** Generations this worker runs, in order ("single" mode: all; otherwise one). */
  generations: number[];
  /** Total generations of the run. */
  G: number;
  M: number;
  /** Operations per generation. */
  R: number;
  minSize: number;
  range: number;
  seed: number;
  warmOps: number;
  /** Fill array k before READY (and count the fill's PRNG state in the checksum). */
  fill: boolean;
  /** "shared" mode: the T × M pointer array of all workers; otherwise null (a private array of M). */
  ptrs: SharedArrayBuffer | null;
  /** T × M meta words (size | stamp << 16), shared in every mode. */
  meta: SharedArrayBuffer;
  /** One word per array (16 apart): the generation allowed to work on it. */
  handoff: SharedArrayBuffer;
  /** "gc" mode: where the blocks come from (g > 0) and go to (g < G - 1). */
  recvPort: MessagePort | null;
  sendPort: MessagePort | null;
}

const WARM_GENERATIONS = 4;
/**
 * The large blocks that grow the warm heap: 3.5 MiB, which leaves half a segment of new pages for
 * the thread heap at work (its blocks there lie beyond its successors' views).
 */
const WARM_GROW_BYTES = (7 << 20) >>> 1;
/** BENCH_DEBUG=1: each worker prints its timed part's duration on stderr. */
const DEBUG = process.env.BENCH_DEBUG === "1";

async function main(d: RingWorkerData): Promise<WorkerResult> {
  const ctl = new Int32Array(d.ctl);
  const peer = await loadWorkerPeer(d);
  const sab = (n: number) => new Int32Array(new SharedArrayBuffer(n * 4));

  // Warm-up (see the header), so that the timed part runs optimized code.
  {
    const wm = d.M;
    const wp = sab(wm);
    const wmeta = sab(wm);
    let x = seedFor(d.seed ^ 0x5eed, d.k, d.generations[0]!);
    if (peer.attachWarm !== null) {
      // A larson in miniature on the warm heap: a filler, then WARM_GENERATIONS thread heaps in
      // turn, each freeing its predecessors' blocks and adopting their abandoned pages. All are
      // attached first, and the filler grows the heap by a large block halfway through each
      // generation (never freed: the warm heap is discarded), so that the later ones meet blocks
      // beyond their views, as the pre-started generations of the timed part do.
      const filler = await peer.attachWarm();
      x = fillSlots(filler, wp, wmeta, 0, wm, d.minSize, d.range, x);
      const gens: WorkerAllocator[] = [];
      for (let gw = 0; gw < WARM_GENERATIONS; gw++) gens.push(await peer.attachWarm());
      // Touch a freshly grown block through each (read first, or write first): the path an
      // adapter takes when a block lies beyond the view it holds (hakmem.ts) gets its feedback
      // before the loop is optimized, not in the middle of the timed part.
      gens.forEach((h, gw) => {
        const p = filler.malloc(WARM_GROW_BYTES);
        if (p === 0) throw new Error("warm-up: the warm heap is exhausted");
        if (gw % 2 === 0) h.read(p, WARM_GROW_BYTES - 1);
        h.write(p, WARM_GROW_BYTES - 1, 1);
        h.read(p, 0);
      });
      const half = Math.ceil(d.warmOps / WARM_GENERATIONS / 2);
      for (let gw = 0; gw < WARM_GENERATIONS; gw++) {
        const h = gens[gw]!;
        x = ringOps(h, wp, wmeta, 0, wm, half, d.minSize, d.range, x);
        if (filler.malloc(WARM_GROW_BYTES) === 0) throw new Error("warm-up: the warm heap is exhausted");
        x = ringOps(h, wp, wmeta, 0, wm, half, d.minSize, d.range, x);
        if (gw === WARM_GENERATIONS - 1) drainSlots(h, wp, wmeta, 0, wm);
        h.dispose();
      }
      filler.dispose();
    } else {
      const warm = await peer.attachPrivate();
      for (let r = 0; r < 2; r++) x = ringOps(warm, wp, wmeta, 0, wm, d.warmOps >>> 1, d.minSize, d.range, x);
      drainSlots(warm, wp, wmeta, 0, wm);
      warm.dispose();
    }
  }
  const a = await peer.attachRun();

  const shared = d.ptrs !== null;
  const ptrs = shared ? new Int32Array(d.ptrs!) : sab(d.M);
  const meta = new Int32Array(d.meta);
  const base = shared ? d.k * d.M : 0;
  const metaBase = d.k * d.M;
  // The timed loop indexes ptrs and meta with one base: give it a meta view that starts at array k.
  const myMeta = shared ? meta : new Int32Array(d.meta, metaBase * 4, d.M);
  const handoff = new Int32Array(d.handoff);
  let checksum = 0;
  if (d.fill) checksum ^= fillSlots(a, ptrs, myMeta, base, d.M, d.minSize, d.range, seedFor(d.seed, d.k, -1));
  const verifiedBefore = verifiedFrees;

  readyThenGo(ctl);
  let ops = 0;
  for (const g of d.generations) {
    if (d.mode !== "single" && g > 0) {
      waitAtLeast(handoff, ctl, d.k * 16, g);
      if (d.mode === "gc") {
        // The previous generation posted the blocks before it set the handoff word.
        const m = receiveMessageOnPort(d.recvPort!) as { message: Uint8Array[] } | undefined;
        if (m === undefined) throw new Error(`array ${d.k}, generation ${g}: handed over without its blocks`);
        const mover = a as WorkerAllocator & GcBlockMover;
        const blocks = m.message;
        for (let i = 0; i < d.M; i++) ptrs[i] = mover.put(blocks[i]!);
      }
    }
    const ts = DEBUG ? nowNs() : 0;
    checksum ^= ringOps(a, ptrs, myMeta, base, d.M, d.R, d.minSize, d.range, seedFor(d.seed, d.k, g));
    if (DEBUG) process.stderr.write(`ring worker k=${d.k} g=${g}: ${d.R} ops from ${(ts / 1e6).toFixed(1)} ms to ${(nowNs() / 1e6).toFixed(1)} ms\n`);
    ops += d.R;
  }
  const lastGen = d.generations[d.generations.length - 1]! === d.G - 1;
  if (!lastGen) {
    if (d.mode === "gc") {
      const mover = a as WorkerAllocator & GcBlockMover;
      const blocks: Uint8Array[] = [];
      for (let i = 0; i < d.M; i++) blocks.push(mover.take(ptrs[i]!));
      d.sendPort!.postMessage(blocks);
    }
    a.dispose();
    if (DEBUG) process.stderr.write(`ring worker k=${d.k} g=${d.generations[0]}: disposed at ${(nowNs() / 1e6).toFixed(1)} ms\n`);
    endTimed(ctl, d);
    Atomics.store(handoff, d.k * 16, d.generations[d.generations.length - 1]! + 1);
    Atomics.notify(handoff, d.k * 16);
  } else {
    endTimed(ctl, d);
    drainSlots(a, ptrs, myMeta, base, d.M);
    a.dispose();
  }
  return { type: "result", index: d.index, ops, verified: verifiedFrees - verifiedBefore, checksum };
}

const data = workerData as RingWorkerData;
workerMain(data.index, data.ctl, () => main(data));
