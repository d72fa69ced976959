/**
 * protocol — what the multi-worker tests' main thread and workers share: the words of the
 * control array (an Int32Array over a SharedArrayBuffer) and the messages and workerData.
 *
 * The transfer array is a second Int32Array over a SharedArrayBuffer: one block pointer per slot,
 * 0 when empty, moved in and out only with Atomics.exchange.
 */

import type { HeapHandle } from "../../src/index.js";

/** Words of the control array. */
export const enum Ctl {
  /** Set to 1 to make every stress worker leave its loop early (a failure, or time is up). */
  STOP = 0,
  /** Set to 1 when a worker failed (so the others stop soon). */
  FAILED = 1,
  /** Barrier and start flag of the growth test. */
  ARRIVED = 2,
  GO = 3,
  FINISHED = 4,
  /** Progress counter of the termination test's victim (bumped in its endless loop). */
  PROGRESS = 5,
  /** Words reserved for the victim's churn blocks start here (see VictimData). */
  WORDS = 16,
}

// ─── Stress worker ────────────────────────────────────────────────────────────────────────

/** How a stress worker ends its round. */
export type Ending = "dispose" | "terminate";

export interface StressWorkerData {
  handle: HeapHandle;
  transfer: SharedArrayBuffer;
  control: SharedArrayBuffer;
  /** Number of this worker over the whole run (numbers the blocks it allocates). */
  origin: number;
  /** Number of the first worker of this round: blocks of lower origins come from earlier rounds. */
  roundBase: number;
  /** Workers in this round (origins roundBase .. roundBase + roundSize - 1, mod 1024). */
  roundSize: number;
  seed: number;
  /** Operations to run; Infinity to run until Ctl.STOP. */
  iterations: number;
  /** Most blocks the worker keeps at once (beyond those in the transfer array). */
  retain: number;
  ending: Ending;
  /** The heap is checked: request at least 8 bytes per block (the usable size is the request). */
  checked: boolean;
}

/** What a stress worker counted. */
export interface StressCounts {
  ops: number;
  allocs: number;
  frees: number;
  /** Blocks put into the transfer array. */
  transfersIn: number;
  /** Blocks taken from the transfer array (and verified). */
  transfersOut: number;
  /** Blocks taken from the transfer array and freed by this worker... */
  transferFrees: number;
  /** ...of which another worker had allocated. */
  crossFrees: number;
  /** Blocks taken from the transfer array that a worker of an earlier round had allocated. */
  fromEarlierRounds: number;
  reallocs: number;
  callocs: number;
  aligned: number;
  largest: number;
}

export type StressMessage =
  | { type: "attached"; tid: number }
  | { type: "done"; counts: StressCounts }
  | { type: "disposed" }
  | { type: "idle" };

// ─── Other workers (misc_worker) ──────────────────────────────────────────────────────────

export interface AttachData {
  mode: "attach";
  handle: HeapHandle;
  /** A block the main thread allocated and filled (id, length in its header): to verify and free. */
  mainBlock: number;
  mainId: number;
}

/**
 * The termination test's victim: allocates `blocks` blocks, stores them in transfer slots
 * [0, blocks), says "ready", then loops until terminated: "compute" spins in plain JS (never
 * inside a heap call), "churn" mallocs and frees (so it is usually terminated inside one), "stats"
 * calls stats() (which holds the heap lock while it walks the page table), "grow" allocates
 * large blocks (16 and 64 MiB) without freeing them, growing the heap at every call, "pages"
 * allocates mid blocks (20 and 72 KiB) without freeing them, taking a new page every few. The
 * churn blocks are recorded in transfer slots [blocks, blocks + churnSlots): a pointer while
 * live, its negation while being freed (so the main thread knows every block it may own).
 * A churning worker told to stop (Ctl.STOP) frees its churn blocks, disposes and exits: that
 * is a survivor, running beside a victim.
 */
export interface VictimData {
  mode: "victim";
  handle: HeapHandle;
  transfer: SharedArrayBuffer;
  control: SharedArrayBuffer;
  seed: number;
  blocks: number;
  loop: "compute" | "churn" | "stats" | "grow" | "pages";
  churnSlots: number;
  /** Sizes the churn uses: the stress mix, or only mid and large blocks (every one a span). */
  churnSizes: "mixed" | "spans";
}

/**
 * The growth test's worker: arrives at the barrier, waits for Ctl.GO, allocates (and frees some
 * of) mixed blocks until `bytes` bytes are live, waits for all the others, verifies its blocks and
 * reports their intervals.
 */
export interface GrowData {
  mode: "grow";
  handle: HeapHandle;
  control: SharedArrayBuffer;
  seed: number;
  origin: number;
  bytes: number;
  workers: number;
}

export type MiscData = AttachData | VictimData | GrowData;

export interface GrowReport {
  type: "grown";
  tid: number;
  /** Per live block: pointer, usable size, id, length. */
  blocks: Float64Array;
  allocs: number;
  frees: number;
  /** Growths this worker saw between its first and last malloc (stats().growths). */
  growthsSeen: number;
}
