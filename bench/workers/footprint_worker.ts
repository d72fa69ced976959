/**
 * footprint_worker — one worker of a multi-worker footprint run (bench/footprint.ts): the tracked
 * ring loop (workloads/memory.ts runTrackedRing: free + malloc over its own ring of W slots,
 * keeping its live requested bytes and their peak) on the run's allocator — attached to the shared
 * instance ("shared" mode) or a private one ("single" mode) — then it frees its ring and disposes.
 *
 * All workers are released together (READY/GO, workers/protocol.ts), so their rings are live in
 * the heap at the same time. Nothing is timed. Reports its peak live bytes and, for a private
 * instance, that instance's peak footprint.
 */

import { workerData } from "node:worker_threads";
import { runTrackedRing } from "../workloads/memory.js";
import { endTimed, loadWorkerPeer, readyThenGo, workerMain, type WorkerBase, type WorkerResult } from "./protocol.js";

export interface FootprintWorkerData extends WorkerBase {
  W: number;
  N: number;
  minSize: number;
  sizeRange: number;
  seed: number;
}

async function main(d: FootprintWorkerData): Promise<WorkerResult> {
  const peer = await loadWorkerPeer(d);
  const a = await peer.attachRun();
  readyThenGo(new Int32Array(d.ctl));
  const out = runTrackedRing(a, d.W, d.N, d.seed, d.minSize, d.sizeRange);
  endTimed(new Int32Array(d.ctl), d);
  const footprintBytes = a.peakFootprint?.() ?? NaN;
  a.dispose();
  return { type: "result", index: d.index, ops: d.N, verified: 0, checksum: out.checksum, peakLiveBytes: out.peakLiveBytes, footprintBytes };
}

const data = workerData as FootprintWorkerData;
workerMain(data.index, data.ctl, () => main(data));
