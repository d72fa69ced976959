/**
 * larson — the Larson server benchmark (Larson & Krishnan 1998, as in mimalloc-bench and the
 * seed's larson_hakmem), with T = 1, 2, 4 workers: rows larson_t1, larson_t2, larson_t4.
 * Also the team runner behind mid_large_mt.ts.
 *
 * Definition, parameters T (workers at once), M (slots per worker), G (generations), R
 * (operations per worker per generation), minSize..maxSize (block sizes), seed:
 * - T slot arrays of M blocks each. The main thread fills them first ("shared" peers: every block
 *   allocated by the main thread, as Larson's main thread does), outside the clock.
 * - Generation g = 0..G-1 has one worker per array. Worker (k, g) does R operations on array k
 *   (workers/ring.ts): pick a random slot, verify and free its block, malloc a replacement of a
 *   random size in minSize..maxSize, write its pattern. Then it dispose()s and hands array k
 *   (block pointers in a shared Int32Array) over to worker (k, g + 1), and is done. So from the
 *   first hand-over on, nearly every free is of a block another worker allocated — by then
 *   disposed, its pages abandoned for others to adopt.
 * - Every worker is started, attached and warmed up before the clock starts (Node takes tens of
 *   ms to start a worker; Larson's C threads start in microseconds): generation g > 0 waits on
 *   its array's hand-over word, so a hand-over costs a futex wake rather than a worker start.
 * - The clock runs from GO (all of generation 0 released at once) to the end of the last worker
 *   of generation G - 1 (workloads/multi.ts). Iterations/s = T × G × R / seconds: malloc + free
 *   pairs per second, summed over the workers; each worker's count is checked.
 * - At the end (outside the clock) the last generation verifies and frees every block left; the
 *   shared heap must then hold no live block (hakmem: after collect()).
 * Peers: "shared" (hakmem) as above; "gc": each generation-0 worker fills its own array, and a
 * hand-over posts the M blocks (Uint8Arrays, structured clone: copied) to the next worker, which
 * puts them in its table; "single" (reference, T = 1 only): one worker does all G rounds on its
 * own instance, no hand-over — the speed limit for larson_t1.
 * Checksum: XOR of every worker's final PRNG state and of the fills' (the same for every peer).
 */

import { MessageChannel, type MessagePort, type TransferListItem } from "node:worker_threads";
import type { PeerEntry } from "../peers/index.js";
import type { MultiMode, Peer, SharedInstance } from "../peers/types.js";
import type { RingWorkerData } from "../workers/ring_worker.js";
import { fillSlots } from "../workers/ring.js";
import { seedFor } from "../workers/protocol.js";
import { sharedInt32, withTeam, workerScript } from "./multi.js";
import { fmtInt, param, type MultiWorkerWorkload, type Params, type RunOutcome } from "./types.js";

export interface RingTeamOptions {
  what: string;
  T: number;
  M: number;
  G: number;
  R: number;
  minSize: number;
  /** Sizes are minSize + x mod range. */
  range: number;
  seed: number;
  warmOps: number;
  /** Whether the arrays start full (larson) or empty (mid_large_mt). */
  fill: boolean;
}

/** Runs T workers × G generations of the ring loop; see the header. */
export async function runRingTeam(peer: Peer, entry: PeerEntry, o: RingTeamOptions): Promise<RunOutcome> {
  const mode = peer.multi?.mode;
  if (mode === undefined) throw new Error(`${peer.name} takes no part in multi-worker workloads`);
  if (mode === "single" && o.T !== 1) throw new Error(`${o.what}: ${peer.name} cannot be shared: T must be 1`);
  if (o.minSize < 2 || o.minSize + o.range - 1 > 0xffff) throw new Error(`${o.what}: sizes must lie in 2..65535 (the pattern and the meta word)`);
  const { T, M, G, R } = o;
  let instance: SharedInstance | null = null;
  const warmInstances: SharedInstance[] = [];
  try {
    if (mode === "shared") instance = peer.multi!.createShared!();
    const ptrs = mode === "shared" ? sharedInt32(T * M) : null;
    const meta = sharedInt32(T * M);
    const handoff = sharedInt32(T * 16);
    let checksum = 0;
    if (instance !== null && o.fill) {
      for (let k = 0; k < T; k++) checksum ^= fillSlots(instance.local, ptrs!, meta, k * M, M, o.minSize, o.range, seedFor(o.seed, k, -1));
    }

    // Which worker does what: (array k, its generations).
    const plan: { k: number; generations: number[] }[] = [];
    if (mode === "single") plan.push({ k: 0, generations: Array.from({ length: G }, (_, g) => g) });
    else for (let g = 0; g < G; g++) for (let k = 0; k < T; k++) plan.push({ k, generations: [g] });
    // gc: the blocks of array k travel from generation g - 1 to g on channel (k, g).
    const recv = new Map<string, MessagePort>();
    const send = new Map<string, MessagePort>();
    if (mode === "gc") {
      for (let k = 0; k < T; k++) {
        for (let g = 1; g < G; g++) {
          const ch = new MessageChannel();
          send.set(`${k}/${g - 1}`, ch.port1);
          recv.set(`${k}/${g}`, ch.port2);
        }
      }
    }

    return await withTeam(plan.length, async (team) => {
      const lastIndices: number[] = [];
      // "shared": a warm heap per worker (workers/ring_worker.ts), so that its warm-up's growth is its own.
      if (mode === "shared") for (let i = 0; i < plan.length; i++) warmInstances.push(peer.multi!.createShared!());
      plan.forEach((w, index) => {
        const g = w.generations[0]!;
        const last = w.generations[w.generations.length - 1] === G - 1;
        if (last) lastIndices.push(index);
        const recvPort = recv.get(`${w.k}/${g}`) ?? null;
        const sendPort = send.get(`${w.k}/${g}`) ?? null;
        const data: RingWorkerData = {
          entry,
          mode,
          handle: instance?.handle ?? null,
          warmHandle: warmInstances[index]?.handle ?? null,
          ctl: team.ctlBuffer,
          index,
          last,
          k: w.k,
          generations: w.generations,
          G,
          M,
          R,
          minSize: o.minSize,
          range: o.range,
          seed: o.seed,
          warmOps: o.warmOps,
          fill: o.fill && instance === null && g === 0,
          ptrs: ptrs === null ? null : (ptrs.buffer as SharedArrayBuffer),
          meta: meta.buffer as SharedArrayBuffer,
          handoff: handoff.buffer as SharedArrayBuffer,
          recvPort,
          sendPort,
        };
        const transferList: TransferListItem[] = [];
        if (recvPort !== null) transferList.push(recvPort);
        if (sendPort !== null) transferList.push(sendPort);
        team.start(index, { script: workerScript("ring_worker.js"), data, transferList });
      });
      const t0 = await team.go();
      const { t1, results } = await team.finish(lastIndices.length, lastIndices);
      const ops = results.reduce((s, r) => s + r.ops, 0);
      if (ops !== T * G * R) throw new Error(`${o.what}: the workers report ${ops} operations, expected T × G × R = ${T * G * R}`);
      // Every block allocated (fill + one per operation) was verified and freed exactly once.
      const verified = results.reduce((s, r) => s + r.verified, 0);
      const mallocs = T * G * R + (o.fill ? T * M : 0);
      if (verified !== mallocs) throw new Error(`${o.what}: ${verified} blocks verified and freed, but ${mallocs} allocated`);
      for (const r of results) checksum ^= r.checksum;
      let peakFootprintBytes = NaN;
      if (instance !== null) {
        const live = instance.liveBlocks();
        if (live !== 0) throw new Error(`${o.what}: ${live} blocks still in use after every block was freed (the allocator lost track of some)`);
        peakFootprintBytes = instance.peakFootprint();
      }
      return { iterations: ops, seconds: (t1 - t0) / 1e9, checksum: checksum >>> 0, peakFootprintBytes };
    });
  } finally {
    instance?.dispose();
    for (const wi of warmInstances) wi.dispose();
  }
}

function larsonWorkload(T: number): MultiWorkerWorkload {
  const params: Params = { T, M: 1000, G: 4, R: 1_000_000, minSize: 16, maxSize: 1024, seed: 42, warmOps: 40_000 };
  return {
    kind: "multi",
    name: `larson_t${T}`,
    summary:
      `Larson server benchmark, ${T} worker${T === 1 ? "" : "s"} at once: each owns M slots, frees a random one and mallocs a replacement; ` +
      "after R operations it disposes and hands its slots (pointers) to a newly started worker (G generations)",
    params,
    quickParams: { ...params, G: 2, R: 250_000, warmOps: 20_000 },
    iterationParam: "R",
    iterationUnit: "iteration = one free (of a block allocated by any worker) + one malloc + pattern writes and checks, summed over the workers",
    workers: T,
    modes: T === 1 ? ["shared", "gc", "single"] : ["shared", "gc"],
    how(mode: MultiMode): string {
      switch (mode) {
        case "shared":
          return "main thread fills the slots; each generation's workers pre-started; hand-over = dispose() + pointers left in a shared Int32Array";
        case "gc":
          return "each first-generation worker fills its own slots; hand-over = the M Uint8Arrays posted to the next worker (structured clone: copied)";
        case "single":
          return "one worker on a private instance does all G rounds (no hand-over: the reference cannot be shared)";
      }
    },
    describe: (p) =>
      `T=${param(p, "T")}, M=${fmtInt(param(p, "M"))}, ${fmtInt(param(p, "minSize"))}–${fmtInt(param(p, "maxSize"))} B, ` +
      `G=${param(p, "G")} generations × R=${fmtInt(param(p, "R"))} ops/worker, seed ${param(p, "seed")}`,
    run: (peer, entry, p) =>
      runRingTeam(peer, entry, {
        what: `larson_t${T}`,
        T: param(p, "T"),
        M: param(p, "M"),
        G: param(p, "G"),
        R: param(p, "R"),
        minSize: param(p, "minSize"),
        range: param(p, "maxSize") - param(p, "minSize") + 1,
        seed: param(p, "seed"),
        warmOps: param(p, "warmOps"),
        fill: true,
      }),
  };
}

export const larsonT1 = larsonWorkload(1);
export const larsonT2 = larsonWorkload(2);
export const larsonT4 = larsonWorkload(4);
