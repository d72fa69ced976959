/**
 * workers/protocol — what the multi-worker workloads' main side (workloads/multi.ts) and their
 * workers (workers/*_worker.ts) share: the control block, the blocking waits of a worker, the
 * per-worker seeds, the byte pattern every block carries, and the messages.
 *
 * Control block: a SharedArrayBuffer read as an Int32Array, every word on a cache line of its own
 * (16 words apart) so that workers polling one do not slow those writing another:
 *   READY  workers that finished their setup (attach, warm-up) and wait for GO
 *   GO     set to 1 by the main thread: the clock starts
 *   DONE   workers whose timed part ended (the main thread waits for all that end the run)
 *   ERROR  set by a worker that failed: every waiting worker gives up
 * and, in a BigInt64Array over the same buffer from END_WORD on, the process.hrtime (ns) at which
 * each worker ended its timed part. process.hrtime is one monotonic clock for every thread of the
 * process, so the main thread's GO time and the workers' end times can be subtracted.
 *
 * Byte pattern: a block of `size` bytes (size >= 2) written with stamp s (0..255) holds s at byte 0
 * and s ^ 0x5a at byte size - 1; it is verified just before the block is freed, by whichever worker
 * frees it. The stamp and size of a slot's block are kept next to its pointer (`meta` word =
 * size | stamp << 16), or recomputed from the PRNG by the receiver (xthread).
 */

import { parentPort } from "node:worker_threads";
import type { PeerEntry } from "../peers/index.js";
import type { MultiMode, WorkerAllocator } from "../peers/types.js";

/** Words of the control block (each on its own 64-byte line). */
export const enum Ctl {
  READY = 0,
  GO = 16,
  DONE = 32,
  ERROR = 48,
  /** First word of the BigInt64Array of end times (one per worker). */
  END_WORD = 64,
}

/** Bytes of a control block for `workers` workers. */
export function ctlBytes(workers: number): number {
  return Ctl.END_WORD * 4 + workers * 8;
}

/** What every worker is given, besides its workload's own data. */
export interface WorkerBase {
  /** The peer to load (peers/index.ts entry) and how it takes part. */
  entry: PeerEntry;
  mode: MultiMode;
  /** "shared" mode: the handle of the main thread's instance; otherwise null. */
  handle: unknown;
  /**
   * "shared" mode: the handle of a second instance the workers warm up on together (xthread);
   * null: each worker warms up on a private instance.
   */
  warmHandle: unknown;
  /** The control block. */
  ctl: SharedArrayBuffer;
  /** This worker's index in the control block's end times. */
  index: number;
  /** Whether this worker's end counts towards DONE (the workers that end the run). */
  last: boolean;
}

/** What a worker posts when its part is over (after the clock). */
export interface WorkerResult {
  type: "result";
  index: number;
  /** Operations it performed in the timed region (the workload says what one is). */
  ops: number;
  /** Blocks whose pattern it verified before freeing them (timed or not). */
  verified: number;
  /** Its final PRNG state(s), XORed (for the run's checksum). */
  checksum: number;
  /** Footprint runs (footprint_worker.ts): its peak live requested bytes. */
  peakLiveBytes?: number;
  /** Footprint runs with a private instance: that instance's peak footprint (NaN: no measure). */
  footprintBytes?: number;
}

export interface WorkerError {
  type: "error";
  index: number;
  message: string;
}

export type WorkerMessage = WorkerResult | WorkerError;

/** The pattern's second byte for stamp `s`. */
export const STAMP_XOR = 0x5a;

/** A block's pattern is damaged: says where and how. */
export function patternError(what: string, p: number, size: number, stamp: number, b0: number, b1: number): Error {
  return new Error(
    `${what}: block at ${p} (size ${size}) damaged before its free: byte 0 = ${b0} (expected ${stamp}), ` +
      `byte ${size - 1} = ${b1} (expected ${stamp ^ STAMP_XOR})`,
  );
}

/**
 * The xorshift32 seed of worker `k`, generation `g` of a run seeded `seed`: a hash, never 0, the
 * same for every peer (so that the run's checksum is too).
 */
export function seedFor(seed: number, k: number, g: number): number {
  let h = (seed ^ Math.imul(k + 1, 0x9e3779b1) ^ Math.imul(g + 1, 0x85ebca77)) | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d);
  h ^= h >>> 15;
  h = Math.imul(h, 0x846ca68b);
  h ^= h >>> 16;
  return h === 0 ? 1 : h | 0;
}

/** Worker side: blocks until word `at` of `i32` is at least `target` (gives up when a worker failed). */
export function waitAtLeast(i32: Int32Array, ctl: Int32Array, at: number, target: number): void {
  for (;;) {
    const v = Atomics.load(i32, at);
    if (v >= target) return;
    if (Atomics.load(ctl, Ctl.ERROR) !== 0) throw new Error("another worker failed");
    Atomics.wait(i32, at, v, 500);
  }
}

/** Worker side: the hrtime now, in ns (a double: exact to the ns for 104 days). */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

/** Worker side: marks the end of this worker's timed part (and counts it in DONE when `last`). */
export function endTimed(ctl: Int32Array, base: WorkerBase): void {
  const ends = new BigInt64Array(ctl.buffer, Ctl.END_WORD * 4, ctl.length - Ctl.END_WORD >>> 1);
  ends[base.index] = process.hrtime.bigint();
  if (base.last) {
    Atomics.add(ctl, Ctl.DONE, 1);
    Atomics.notify(ctl, Ctl.DONE);
  }
}

/** Worker side: counts this worker ready and blocks until GO. */
export function readyThenGo(ctl: Int32Array): void {
  Atomics.add(ctl, Ctl.READY, 1);
  Atomics.notify(ctl, Ctl.READY);
  waitAtLeast(ctl, ctl, Ctl.GO, 1);
}

/** Worker side: the peer, loaded; how this worker gets its allocators. */
export interface WorkerPeer {
  /** The allocator of the timed part: attached to the run's instance ("shared"), else a private one. */
  attachRun(): Promise<WorkerAllocator>;
  /**
   * An allocator for warm-up: "shared" with a warm handle, attached to the warm instance (each
   * call a new thread heap, so that warm-up can hand blocks between them); otherwise null (warm
   * up on `attachPrivate()`).
   */
  attachWarm: (() => Promise<WorkerAllocator>) | null;
  /** A private instance of the same class as the run's. */
  attachPrivate(): Promise<WorkerAllocator>;
}

export async function loadWorkerPeer(base: WorkerBase): Promise<WorkerPeer> {
  const { importPeer } = await import("../peers/index.js");
  const { TMP_DIR } = await import("../lib/env.js");
  const mod = await importPeer(base.entry);
  const attach = mod.attachWorker?.bind(mod);
  if (attach === undefined) throw new Error(`${base.entry.name} has no attachWorker`);
  const shared = base.mode === "shared";
  const variant = base.entry.variant;
  return {
    attachRun: () => attach(variant, shared ? base.handle : null, TMP_DIR),
    attachWarm: shared && base.warmHandle !== null ? () => attach(variant, base.warmHandle, TMP_DIR) : null,
    attachPrivate: () => attach(variant, null, TMP_DIR),
  };
}

/**
 * Worker side: runs `body`; on failure sets ERROR (waking every waiting worker) and posts the
 * error. The worker then stays alive (parentPort keeps it) until the main thread terminates it,
 * so that no worker's teardown runs inside another one's timed part.
 */
export function workerMain(index: number, ctlBuffer: SharedArrayBuffer, body: () => Promise<WorkerResult>): void {
  const ctl = new Int32Array(ctlBuffer);
  const port = parentPort;
  if (port === null) throw new Error("this module runs as a worker_threads worker");
  port.on("message", () => {}); // stay alive until terminated
  body().then(
    (result) => port.postMessage(result),
    (err: unknown) => {
      Atomics.store(ctl, Ctl.ERROR, 1);
      for (const w of [Ctl.READY, Ctl.GO, Ctl.DONE]) Atomics.notify(ctl, w);
      const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
      port.postMessage({ type: "error", index, message } satisfies WorkerError);
    },
  );
}
