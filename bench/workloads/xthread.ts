/**
 * xthread, xthread_local — a producer/consumer pair of workers (workers/xthread_worker.ts).
 *
 * Definition, parameters N (blocks), minSize..maxSize, Q (ring capacity), B (batch), seed:
 * the producer mallocs N blocks of random sizes in minSize..maxSize, writes a pattern into each and
 * passes the pointers to the consumer through a shared ring of Q slots (workers/spsc.ts: Atomics
 * head/tail published every B items; a side that must wait spins briefly, then Atomics.waits).
 * The consumer verifies each block's pattern, then
 * - xthread:        frees it: every free is cross-worker (hakmem: onto the page's thread-free list,
 *                   collected by the producer when its page runs dry);
 * - xthread_local:  hands the pointer back through a second ring and the producer frees it: every
 *                   free is same-worker. Everything else is the same, so
 *                   xthread / xthread_local = cross-worker over same-worker free throughput of the pair.
 *                   (Not a pure ratio of free costs: in xthread the frees run on the consumer's
 *                   core, in parallel with the producer's mallocs; in xthread_local the producer
 *                   does both and the consumer only forwards.)
 * Iterations/s = N / seconds, from GO until both workers are done (the producer of xthread_local
 * when it has freed all N). Both workers first run the same protocol for warmN blocks on a second
 * instance (a second shared heap), outside the clock. At the end the heap must hold no live block.
 * Peers: "shared" (hakmem) both rows; "gc" xthread only: the producer `new Uint8Array`s each block
 * and posts them in batches of B (one postMessage per batch, structured clone: copied; the ring
 * counters keep at most Q in flight), the consumer receives, verifies and drops them. xthread_local
 * has no gc row: a GC object has no owner to hand it back to.
 * Checksum: the final PRNG states (the same for every peer).
 */

import { MessageChannel, type TransferListItem } from "node:worker_threads";
import type { PeerEntry } from "../peers/index.js";
import type { Peer, SharedInstance } from "../peers/types.js";
import { ringBytes } from "../workers/spsc.js";
import type { XthreadChannel, XthreadWorkerData } from "../workers/xthread_worker.js";
import { withTeam, workerScript } from "./multi.js";
import { fmtInt, param, type MultiWorkerWorkload, type Params, type RunOutcome } from "./types.js";
import { isPowerOfTwo } from "../lib/rand.js";

/** Warm-up rounds of the whole protocol (workers/xthread_worker.ts). */
const WARM_ROUNDS = 3;

async function runXthread(peer: Peer, entry: PeerEntry, p: Params, local: boolean): Promise<RunOutcome> {
  const what = local ? "xthread_local" : "xthread";
  const mode = peer.multi?.mode;
  if (mode !== "shared" && !(mode === "gc" && !local)) throw new Error(`${what}: ${peer.name} does not take part`);
  const N = param(p, "N");
  const Q = param(p, "Q");
  const B = param(p, "B");
  const minSize = param(p, "minSize");
  const range = param(p, "maxSize") - minSize + 1;
  if (!isPowerOfTwo(Q) || !isPowerOfTwo(B) || B > Q) throw new Error(`${what}: Q and B must be powers of two, B ≤ Q`);
  if (minSize < 2) throw new Error(`${what}: minSize must be at least 2 (the pattern)`);
  let instance: SharedInstance | null = null;
  let warmInstance: SharedInstance | null = null;
  try {
    if (mode === "shared") {
      instance = peer.multi!.createShared!();
      warmInstance = peer.multi!.createShared!();
    }
    // Channels: [producer's, consumer's] view of the warm-up's and of the timed run's.
    const channel = (): [XthreadChannel, XthreadChannel, TransferListItem[], TransferListItem[]] => {
      const ring = new SharedArrayBuffer(ringBytes(Q));
      const back = local ? new SharedArrayBuffer(ringBytes(Q)) : null;
      if (mode === "gc") {
        const ch = new MessageChannel();
        return [{ ring, back, port: ch.port1 }, { ring, back, port: ch.port2 }, [ch.port1], [ch.port2]];
      }
      return [{ ring, back, port: null }, { ring, back, port: null }, [], []];
    };
    const warm = Array.from({ length: WARM_ROUNDS }, channel);
    const [runP, runC, runPT, runCT] = channel();
    return await withTeam(2, async (team) => {
      for (const [index, role] of [[0, "producer"], [1, "consumer"]] as const) {
        const data: XthreadWorkerData = {
          entry,
          mode,
          handle: instance?.handle ?? null,
          warmHandle: warmInstance?.handle ?? null,
          ctl: team.ctlBuffer,
          index,
          last: true,
          role,
          local,
          N,
          Q,
          B,
          minSize,
          range,
          seed: param(p, "seed"),
          warmN: param(p, "warmN"),
          warmChannels: warm.map(([wp, wc]) => (role === "producer" ? wp : wc)),
          channel: role === "producer" ? runP : runC,
        };
        const transferList = [
          ...warm.flatMap(([, , wpt, wct]) => (role === "producer" ? wpt : wct)),
          ...(role === "producer" ? runPT : runCT),
        ];
        team.start(index, { script: workerScript("xthread_worker.js"), data, transferList });
      }
      const t0 = await team.go();
      const { t1, results } = await team.finish(2, [0, 1]);
      const [prod, cons] = results as [(typeof results)[0], (typeof results)[0]];
      if (prod.ops !== N || cons.ops !== N) throw new Error(`${what}: produced ${prod.ops}, consumed ${cons.ops}, expected ${N}`);
      if (cons.verified !== N) throw new Error(`${what}: ${cons.verified} blocks verified, expected ${N}`);
      if (prod.checksum !== cons.checksum) throw new Error(`${what}: producer and consumer PRNG states differ`);
      let peakFootprintBytes = NaN;
      if (instance !== null) {
        const live = instance.liveBlocks();
        if (live !== 0) throw new Error(`${what}: ${live} blocks still in use after all N were freed`);
        peakFootprintBytes = instance.peakFootprint();
      }
      return { iterations: N, seconds: (t1 - t0) / 1e9, checksum: prod.checksum >>> 0, peakFootprintBytes };
    });
  } finally {
    instance?.dispose();
    warmInstance?.dispose();
  }
}

const params: Params = { N: 2_000_000, minSize: 16, maxSize: 1024, Q: 1024, B: 64, seed: 42, warmN: 60_000 };
const quickParams: Params = { ...params, N: 500_000, warmN: 30_000 };

function describe(p: Params): string {
  return `N=${fmtInt(param(p, "N"))}, ${fmtInt(param(p, "minSize"))}–${fmtInt(param(p, "maxSize"))} B, ring Q=${fmtInt(param(p, "Q"))}, batch B=${param(p, "B")}, seed ${param(p, "seed")}`;
}

export const xthread: MultiWorkerWorkload = {
  kind: "multi",
  name: "xthread",
  summary: "producer mallocs and fills blocks, passes the pointers through a shared ring; the consumer verifies and frees them (every free cross-worker)",
  params,
  quickParams,
  iterationParam: "N",
  iterationUnit: "iteration = one block: malloc + pattern write (producer), hand-over, pattern check + free (consumer)",
  workers: 2,
  modes: ["shared", "gc"],
  how: (mode) =>
    mode === "shared"
      ? "pointers through a shared Int32Array ring (Atomics head/tail); the consumer frees (cross-worker)"
      : "Uint8Arrays posted in batches of B (structured clone: copied), the consumer drops them; ring counters for flow control",
  describe,
  run: (peer, entry, p) => runXthread(peer, entry, p, false),
};

export const xthreadLocal: MultiWorkerWorkload = {
  kind: "multi",
  name: "xthread_local",
  summary: "xthread, but the consumer hands each pointer back through a second ring and the producer frees it (every free same-worker)",
  params,
  quickParams,
  iterationParam: "N",
  iterationUnit: "iteration = one block: malloc + pattern write, hand-over, pattern check, hand-back, free (all allocator calls in the producer)",
  workers: 2,
  modes: ["shared"],
  how: () => "pointers through a shared ring and back through a second one; the producer frees (same-worker)",
  describe,
  run: (peer, entry, p) => runXthread(peer, entry, p, true),
};
