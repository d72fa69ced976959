/**
 * protocol — what the browser tests' page (cases.ts) and their module workers share: how a worker
 * gets hakmem, the words of the control array, and the data each kind of worker starts with.
 *
 * A module worker cannot use the page's import map, so the page hands every worker the URL of
 * hakmem (`import.meta.resolve("hakmem")`) in its first message, and the worker imports it from
 * there (workerMain). A worker that fails posts `{ type: "error", message }`.
 *
 * The handoff arrays (terminate test): pairs of Int32Arrays over SharedArrayBuffers, `ptr[i]` and
 * `id[i]`; slot i is written by one producer (the victim at position i / HANDOFF_SLOTS of its
 * round) only while `ptr[i]` is 0, id first, pointer last (Atomics.store), and emptied by one
 * consumer (survivor i % survivors), which reads the id and then stores 0.
 */

import type { HeapHandle } from "hakmem";

/** The hakmem module, as a worker imports it. */
export type Hakmem = typeof import("hakmem");

/** A dedicated worker's global scope, as far as these workers use it. */
interface WorkerScope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}

export const scope = globalThis as unknown as WorkerScope;

/** Words of the control array of the terminate test. */
export const enum Ctl {
  /** Pauses requested so far; a survivor that sees more than it answered pauses. */
  PAUSE_REQ = 0,
  /** Pauses ended so far; a paused survivor waits on this word until it reaches its pause. */
  RESUMED = 1,
  /** Pauses answered, summed over the survivors. */
  ACKS = 2,
  /** Set to 1: survivors free what they hold, dispose and report. */
  STOP = 3,
  /** Survivor operations (malloc + free pairs), summed. */
  SURVIVOR_OPS = 4,
  /** Handoff blocks the survivors verified and freed (cross-worker frees). */
  HANDOFFS = 5,
  /** Always 0: survivors nap on it between chunks (Atomics.wait with a timeout). */
  NAP = 6,
  /** Progress counter of the victim at round position j: word VICTIM_PROGRESS + j. */
  VICTIM_PROGRESS = 8,
  WORDS = 64,
}

/** Handoff slots per victim position. */
export const HANDOFF_SLOTS = 256;
/** Slots of a victim's ring of blocks (a power of two). */
export const VICTIM_RING = 512;

export interface WorkerStart {
  /** URL of hakmem's index.js. */
  hakmem: string;
}

export interface ExchangerStart extends WorkerStart {
  handle: HeapHandle;
  /** Number of this worker; its blocks have ids makeId(index, i). */
  index: number;
  /** Blocks per worker. */
  blocks: number;
  /** Int32Array: slot index * blocks + i holds the pointer of block i of worker index. */
  slots: SharedArrayBuffer;
  seed: number;
}

export interface SurvivorStart extends WorkerStart {
  handle: HeapHandle;
  ctl: SharedArrayBuffer;
  handoffPtr: SharedArrayBuffer;
  handoffId: SharedArrayBuffer;
  index: number;
  survivors: number;
  /** Block-id origin of this worker (blocks.ts makeId). */
  origin: number;
  seed: number;
}

export interface VictimStart extends WorkerStart {
  handle: HeapHandle;
  ctl: SharedArrayBuffer;
  /** Busy: malloc/free in an endless loop after "ready"; else idle in its event loop. */
  busy: boolean;
  /**
   * Before its steps, wait until the lock manager holds its liveness lock (its event loop turns
   * meanwhile). Without it a busy victim never returns to its event loop after attaching, and its
   * lock never reaches Chromium's lock manager (liveness.ts).
   */
  registerFirst: boolean;
  /** Int32Array of one word: it attaches once the page sets it to 1 (started ahead of its round). */
  go: SharedArrayBuffer;
  /** Its position in the round: its handoff slots and progress word. */
  position: number;
  /** Int32Arrays of VICTIM_RING slots: its blocks (pointer, id); read by the page after its death. */
  ringPtr: SharedArrayBuffer;
  ringId: SharedArrayBuffer;
  handoffPtr: SharedArrayBuffer;
  handoffId: SharedArrayBuffer;
  origin: number;
  seed: number;
  /** Steps before it reports "ready". */
  steps: number;
}

export interface WasmUserStart extends WorkerStart {
  handle: HeapHandle;
  module: WebAssembly.Module;
  origin: number;
}

export interface LockHolderStart extends WorkerStart {
  handle: HeapHandle;
}

/**
 * Runs `main` with hakmem imported from the URL of the worker's first message and that message's
 * data; reports a failure (a thrown error or a rejected promise) as `{ type: "error" }`.
 */
export function workerMain<T extends WorkerStart>(main: (hakmem: Hakmem, data: T) => unknown): void {
  const fail = (e: unknown): void => scope.postMessage({ type: "error", message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
  scope.onmessage = (e: MessageEvent) => {
    scope.onmessage = null;
    const data = e.data as T;
    (import(data.hakmem) as Promise<Hakmem>).then((hakmem) => main(hakmem, data)).catch(fail);
  };
}

/** xorshift32: the next state of `x` (never 0 for a non-zero start). */
export function xorshift(x: number): number {
  x ^= x << 13;
  x ^= x >>> 17;
  x ^= x << 5;
  return x | 0;
}
