/**
 * board — what the default-mode fuzz's main thread (default_mode.ts) and its workers
 * (default_worker.ts) share: one Int32Array over a SharedArrayBuffer holding the control words and
 * the block slots, the messages and workerData, and the check of a slot's block (verifySlot).
 *
 * The slots are the model: every block of the heap is in exactly one slot whenever no worker runs
 * (between epochs), and the main thread checks the heap against them then. Regions of slots:
 * - per worker, its table (TABLE_SLOTS): blocks it holds; a worker started in place of a
 *   terminated one takes the table over as it was at the cut;
 * - per worker, its scratch slots (SCRATCH_SLOTS): what a doomed worker churns on between the
 *   moment it is told to die and its termination; the main thread settles them after the cut;
 * - transfer slots (TRANSFER_PER_WORKER per worker): blocks handed from worker to worker. In epoch
 *   e worker w alone uses the slots i with i % workers === (w + e) % workers, and leaves the
 *   blocks it put there this epoch alone, so every block put there is taken out by another worker
 *   (or the main thread) in a later epoch, or, with one worker, by itself in a later epoch.
 *
 * A worker writes only its own table, its scratch slots and the transfer slots it owns this epoch;
 * the main thread writes slots only between epochs, or the slots of a worker that has ended.
 * Pending states record an operation in progress, so that after a cut the main thread knows which
 * blocks may exist that no slot names (an allocation whose pointer was not stored yet).
 */

import type { HeapHandle } from "../../src/index.js";
import { findSparseMismatch } from "../patterns.js";
import { fail, hex } from "./common.js";

/** Control words at the start of the board. */
export const enum Ctl {
  /** Bumped (and notified) to start an epoch or to stop; workers wait on it. */
  GO = 0,
  EPOCH = 1,
  /** Index of the worker that dies this epoch, or -1; the op at which it is told to. */
  VICTIM = 2,
  CUT = 3,
  /** 1: free your table, dispose and exit. */
  STOP = 4,
  /** Worker and op (within the epoch) at which to inject a fault, or -1. */
  INJECT_WORKER = 5,
  INJECT_OP = 6,
  /**
   * Operations run before this epoch (low and high 32 bits). Op i of worker w in the epoch is op
   * BASE + w × epochOps + i of the run, as --ops and --inject-fault count.
   */
  BASE_LO = 7,
  BASE_HI = 8,
  WORDS = 16,
}

/** Words of a slot. */
export const enum Slot {
  PTR = 0,
  /** Requested bytes (the pattern covers them). */
  N = 1,
  USABLE = 2,
  ID = 3,
  STATE = 4,
  /** Thread id of the worker whose page the block came from (its allocator), 1 for the main thread. */
  OWNER = 5,
  /** REALLOCATING: the new size, and the new pointer once realloc returned (0 before). */
  NEW_N = 6,
  NEW_PTR = 7,
  /** In a transfer slot: the epoch the block was put there (it is not taken out in the same epoch). */
  HANDED_IN = 8,
  /**
   * 1 when the block is a size class's block (in a small page), 0 for a large block (a run of
   * pages: malloc above MID_MAX, alignedAlloc above a page's alignment, or what a realloc in
   * place of one left, whatever its usable size). Only the first stay in a thread cache when freed.
   */
  SMALL = 9,
  WORDS = 10,
}

export const enum SlotState {
  EMPTY = 0,
  LIVE = 1,
  /** N holds the request; PTR is 0 until the allocation returned. */
  ALLOCATING = 2,
  /** PTR is being freed. */
  FREEING = 3,
  /** PTR is being reallocated to NEW_N bytes. */
  REALLOCATING = 4,
}

export const TABLE_SLOTS = 256;
export const SCRATCH_SLOTS = 16;
export const TRANSFER_PER_WORKER = 64;

/** Where the regions of a board for `workers` workers lie (slot numbers; word = Ctl.WORDS + slot * Slot.WORDS). */
export class BoardLayout {
  readonly transferSlots: number;
  readonly totalSlots: number;
  constructor(readonly workers: number) {
    this.transferSlots = TRANSFER_PER_WORKER * workers;
    this.totalSlots = workers * (TABLE_SLOTS + SCRATCH_SLOTS) + this.transferSlots;
  }
  tableSlot(w: number, k: number): number {
    return w * TABLE_SLOTS + k;
  }
  scratchSlot(w: number, k: number): number {
    return this.workers * TABLE_SLOTS + w * SCRATCH_SLOTS + k;
  }
  transferSlot(i: number): number {
    return this.workers * (TABLE_SLOTS + SCRATCH_SLOTS) + i;
  }
  /** First word of a slot. */
  word(slot: number): number {
    return Ctl.WORDS + slot * Slot.WORDS;
  }
  words(): number {
    return Ctl.WORDS + this.totalSlots * Slot.WORDS;
  }
}

export interface DefaultWorkerData {
  handle: HeapHandle;
  board: SharedArrayBuffer;
  /** This worker's index (0 .. workers − 1), kept by its replacements. */
  index: number;
  workers: number;
  /** Ctl.GO as it was when the worker was started: it waits for the next value. */
  go: number;
  seed: number;
  epochOps: number;
  badRate: number;
  maxBytes: number;
  /** Bytes before the first data page (stats().metadataBytes): pointers below are outside the data. */
  metadataBytes: number;
}

export type WorkerMessage =
  | { type: "ready"; tid: number }
  | { type: "done"; counts: Record<string, number> }
  | { type: "doomed"; counts: Record<string, number> }
  | { type: "stopped"; counts: Record<string, number> }
  | { type: "failed"; message: string; recent: string[] };

/** Fails naming the block unless the live block of slot word `s` holds its (sparse) pattern. */
export function verifySlot(u8: Uint8Array, board: Int32Array, s: number, what: string): void {
  const p = board[s + Slot.PTR]! >>> 0;
  const at = findSparseMismatch(u8, p, board[s + Slot.N]!, board[s + Slot.ID]!);
  if (at >= 0) fail(`${what}: block ${hex(p)} (${board[s + Slot.N]} bytes, id ${board[s + Slot.ID]}, allocated by thread ${board[s + Slot.OWNER]}) lost its data at byte ${at}`);
}
