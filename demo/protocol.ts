/**
 * protocol — what the demo's page (demo.ts) and its workers (worker.ts) share.
 *
 * Counters: an Int32Array over a SharedArrayBuffer, word i counting the operations (a free and a
 * malloc) of worker i, bumped once per chunk. Inboxes: an Int32Array of INBOX_SLOTS block
 * pointers per hakmem worker; worker i puts blocks into the inbox of worker i + 1 (mod the
 * number of workers) when a slot is empty and frees what lands in its own: cross-worker frees.
 * Each inbox slot has one producer and one consumer; 0 means empty.
 */

import type { HeapHandle } from "hakmem";

export const INBOX_SLOTS = 64;
/** Words of the counter array: one per worker, and PAUSE. */
export const MAX_WORKERS = 15;
export const PAUSE = 15;

/** The sizes a worker allocates: `min + x mod range` bytes, or a mid-sized block one time in `midEvery`. */
export interface SizeMix {
  min: number;
  range: number;
  midEvery: number;
}

export interface DemoStart {
  /** "hakmem": blocks of the shared heap; "gc": `new Uint8Array(n)` for the same sequence. */
  kind: "hakmem" | "gc";
  /** URL of hakmem's index.js (a module worker cannot use the page's import map). */
  hakmem: string;
  handle: HeapHandle | null;
  index: number;
  workers: number;
  counters: SharedArrayBuffer;
  inboxes: SharedArrayBuffer;
  mix: SizeMix;
  seed: number;
}
