/**
 * worker — a worker of the demo page: a ring of 4096 blocks, each step freeing a random one and
 * allocating a new one of a size from its mix, writing a byte into it; in chunks of CHUNK steps,
 * after each of which it adds to its counter and returns to its event loop (so the page can pause
 * or terminate it, and its liveness lock reaches the browser's lock manager).
 * - kind "hakmem": blocks of the page's heap (attachHeap), the byte view cached and re-read only
 *   past its end (the README's fast pattern); every 16th block goes to the next worker's inbox,
 *   and blocks in its own inbox are freed here.
 * - kind "gc": the same sequence with `new Uint8Array(n)`, dropped to the garbage collector.
 */

import type { Heap } from "hakmem";
import { INBOX_SLOTS, PAUSE, type DemoStart } from "./protocol.js";

const RING = 4096;
const CHUNK = 20_000;

interface Scope {
  onmessage: ((e: MessageEvent) => void) | null;
  postMessage(message: unknown): void;
}
const scope = globalThis as unknown as Scope;

function nextSize(x: number, d: DemoStart): number {
  const r = (x >>> 8) % d.mix.range;
  return (x & 255) % d.mix.midEvery === 0 ? 8192 + ((x >>> 8) % 57344) : d.mix.min + r;
}

async function runHakmem(d: DemoStart): Promise<void> {
  const { attachHeap } = (await import(d.hakmem)) as typeof import("hakmem");
  const heap: Heap = attachHeap(d.handle!);
  scope.postMessage({ threadId: heap.threadId }); // the page needs it to reclaim this worker
  const counters = new Int32Array(d.counters);
  const mine = new Int32Array(d.inboxes, d.index * INBOX_SLOTS * 4, INBOX_SLOTS);
  const theirs = new Int32Array(d.inboxes, ((d.index + 1) % d.workers) * INBOX_SLOTS * 4, INBOX_SLOTS);
  const ring = new Uint32Array(RING);
  let u8 = heap.u8;
  let x = d.seed | 1;
  let out = 0;
  for (;;) {
    if (Atomics.load(counters, PAUSE) === 0) {
      for (let i = 0; i < CHUNK; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const k = x & (RING - 1);
        if (ring[k] !== 0) heap.free(ring[k]!);
        const p = heap.malloc(nextSize(x, d));
        if (p >= u8.length) u8 = heap.u8; // the heap grew (here or in another worker)
        u8[p] = i & 255;
        if ((i & 15) === 0 && d.workers > 1 && Atomics.load(theirs, out) === 0) {
          Atomics.store(theirs, out, p); // handed over: the next worker frees it
          out = (out + 1) % INBOX_SLOTS;
          ring[k] = 0;
        } else {
          ring[k] = p;
        }
      }
      for (let s = 0; s < INBOX_SLOTS; s++) {
        const p = Atomics.exchange(mine, s, 0);
        if (p !== 0) heap.free(p);
      }
      Atomics.add(counters, d.index, CHUNK);
    }
    await new Promise((resolve) => setTimeout(resolve, Atomics.load(counters, PAUSE) === 0 ? 0 : 50));
  }
}

async function runGc(d: DemoStart): Promise<void> {
  const counters = new Int32Array(d.counters);
  const ring: (Uint8Array | undefined)[] = new Array(RING).fill(undefined);
  let x = d.seed | 1;
  for (;;) {
    if (Atomics.load(counters, PAUSE) === 0) {
      for (let i = 0; i < CHUNK; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        const b = new Uint8Array(nextSize(x, d));
        b[0] = i & 255;
        ring[x & (RING - 1)] = b;
      }
      Atomics.add(counters, d.index, CHUNK);
    }
    await new Promise((resolve) => setTimeout(resolve, Atomics.load(counters, PAUSE) === 0 ? 0 : 50));
  }
}

scope.onmessage = (e: MessageEvent) => {
  scope.onmessage = null;
  const d = e.data as DemoStart;
  (d.kind === "hakmem" ? runHakmem(d) : runGc(d)).catch((err: unknown) => {
    console.error(`demo worker ${d.index}:`, err);
  });
};
