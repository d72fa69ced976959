/**
 * emscripten/runtime — the heap of an Emscripten module, as the JS library
 * (emscripten/library.js) drives it from inside the module's glue code: on the main thread and in
 * every pthread worker. This file is compiled into that library (scripts/build_emscripten.mjs);
 * it runs in the glue, never in the host's own module graph.
 *
 * Memory layout of a module linked with hakmem:
 *
 *   [0 … static data … stack] __heap_base → [thread registry, 1 KiB] [hakmem region … end of Memory)
 *
 * The region starts right after the registry and may grow to the Memory's maximum; the first
 * thread that needs the heap (the main thread, before static constructors) creates it, every
 * pthread worker attaches to it when its thread first allocates.
 *
 * The thread registry maps pthreads to hakmem thread ids, so that the main thread can reclaim
 * the pages of a pthread whose worker Emscripten terminates (pthread_kill): Int32 words
 * [magic, capacity, (pthread, thread id) × capacity]; an entry with pthread 0 is free. A worker
 * claims an entry with compareExchange on the pthread word, then stores its id.
 *
 * Invariants:
 * - One Heap per JS realm (main thread, or one pthread worker) at a time: `heap`.
 * - A pthread worker's heap is disposed once the pthread it serves has exited (the message hook
 *   below sees pthread_self() return 0 after a message was handled) and before the worker runs
 *   another pthread; its registry entry is cleared first.
 * - Growth of the Memory by the heap calls `onGrow` (Emscripten's views are rebuilt) before any
 *   C code runs again.
 */

import { attachHeap, createHeap } from "../create.js";
import type { Heap } from "../heap.js";
import { reclaimWhenGone, type ExitEvents } from "../liveness.js";

export { fastPathSetup } from "./fast_path.js";

/** What the library passes in from the glue: the module's Memory and its internals. */
export interface ModuleSide {
  /** The module's WebAssembly.Memory (`wasmMemory` in the glue). */
  memory: WebAssembly.Memory;
  /** The module's `__heap_base`: the first byte past static data and the main thread's stack. */
  heapBase: number;
  /** Largest byte length the Memory may reach (MAXIMUM_MEMORY, or INITIAL_MEMORY without growth). */
  maxMemory: number;
  /** True in a pthread worker. */
  inPthread: boolean;
  /** The running pthread (pthread_self), 0 when the worker hosts none. */
  pthreadSelf(): number;
  /** Rebuilds Emscripten's views (updateGlobalBufferAndViews) after the Memory grew. */
  onGrow(): void;
}

/** Words of the thread registry: magic, capacity, and a (pthread, thread id) pair per thread. */
const REGISTRY_MAGIC = 0x4d454b48; // "HKEM"
const REGISTRY_CAPACITY = 128; // hakmem's MAX_THREADS: one entry per live thread slot
const REGISTRY_BYTES = 8 + REGISTRY_CAPACITY * 8 + 8; // padded to a multiple of 16

let side: ModuleSide | null = null;
let heap: Heap | null = null;
/** The pthread this realm's heap serves (0 on the main thread). */
let heapThread = 0;

function registryBase(s: ModuleSide): number {
  return (s.heapBase + 15) & ~15;
}

/** Byte offset of the hakmem region: past the registry. */
function regionBase(s: ModuleSide): number {
  return registryBase(s) + REGISTRY_BYTES;
}

function registryWords(s: ModuleSide): Int32Array {
  return new Int32Array(s.memory.buffer, registryBase(s), REGISTRY_BYTES >> 2);
}

/**
 * Makes every grow of `memory` through its JS object rebuild Emscripten's views right away (an
 * own `grow` shadows the prototype's). Grows from wasm code (memory.grow) do not pass here;
 * Emscripten's own sbrk-style growth rebuilds the views itself.
 */
function hookGrowth(s: ModuleSide): void {
  const memory = s.memory;
  const grow = WebAssembly.Memory.prototype.grow;
  Object.defineProperty(memory, "grow", {
    configurable: true,
    value: function growAndSync(delta: number): number {
      const old = grow.call(memory, delta);
      s.onGrow();
      return old;
    },
  });
}

/**
 * The heap of the calling thread, created (main thread) or attached (pthread worker) on first
 * use. Called by the library's functions when their cached heap is null.
 * @throws Error when called in a pthread worker before the main thread created the heap.
 */
export function threadHeap(s: ModuleSide): Heap {
  if (heap !== null) return heap;
  if (side === null) {
    side = s;
    hookGrowth(s);
  }
  if (!s.inPthread) {
    const words = registryWords(s);
    words[0] = REGISTRY_MAGIC;
    words[1] = REGISTRY_CAPACITY;
    const base = regionBase(s);
    heap = createHeap({ buffer: s.memory, base, maxBytes: s.maxMemory - base });
    heapThread = 0;
    return heap;
  }
  const words = registryWords(s);
  if (words[0] !== REGISTRY_MAGIC) {
    throw new Error(`hakmem: a pthread allocated before the main thread created the heap (no registry at ${registryBase(s)})`);
  }
  heap = attachHeap({ memory: s.memory, base: regionBase(s) });
  heapThread = s.pthreadSelf();
  register(words, heapThread, heap.threadId);
  return heap;
}

function register(words: Int32Array, pthread: number, tid: number): void {
  for (let i = 2; i < 2 + 2 * REGISTRY_CAPACITY; i += 2) {
    if (Atomics.compareExchange(words, i, 0, pthread) === 0) {
      Atomics.store(words, i + 1, tid);
      return;
    }
  }
  // Full (more live threads than hakmem has slots cannot happen): the thread is simply not
  // reclaimable if its worker is terminated.
}

/** Clears the registry entry of `pthread` and returns its thread id, or 0 if it has none. */
function unregister(words: Int32Array, pthread: number): number {
  for (let i = 2; i < 2 + 2 * REGISTRY_CAPACITY; i += 2) {
    if (Atomics.load(words, i) === pthread) {
      const tid = Atomics.load(words, i + 1);
      Atomics.store(words, i + 1, 0);
      Atomics.store(words, i, 0);
      return tid;
    }
  }
  return 0;
}

/**
 * In a pthread worker, after each message it handled: when the pthread this worker's heap served
 * has exited (or another one is about to run), disposes the heap; its blocks stay valid for the
 * other threads, its pages are left for them to adopt. Returns true when it disposed.
 */
export function pthreadMaybeExited(): boolean {
  if (heap === null || side === null || side.pthreadSelf() === heapThread) return false;
  unregister(registryWords(side), heapThread);
  const h = heap;
  heap = null;
  heapThread = 0;
  h.dispose();
  return true;
}

/**
 * On the main thread, right before Emscripten terminates the worker running `pthread`
 * (pthread_kill): once that worker has really stopped, takes over the pages of its heap
 * (reclaimWhenGone: its Web Lock in browsers, its `exit` event under Node).
 */
export function pthreadKilled(pthread: number, worker: Partial<ExitEvents> | undefined): void {
  if (side === null || heap === null) return;
  const tid = unregister(registryWords(side), pthread);
  if (tid === 0) return;
  const h = heap;
  reclaimWhenGone(h, worker as ExitEvents | undefined, tid).catch((err: unknown) => console.error(err));
}

/**
 * sbrk for C code that calls it directly (a program measuring its break, say). The heap owns the
 * Memory past the registry, so sbrk never moves a break into it: `sbrk(0)` reports the end of
 * the Memory (the heap's top), `sbrk(n > 0)` returns a fresh 16-byte-aligned block of n bytes
 * from the heap, not contiguous with earlier ones, and `sbrk(n < 0)` fails. Returns -1 (as an
 * unsigned pointer, 0xffffffff) on failure; the C side sets errno.
 */
export function sbrk(s: ModuleSide, increment: number): number {
  if (increment === 0) return s.memory.buffer.byteLength >>> 0;
  if (increment < 0) return 0xffffffff;
  const p = threadHeap(s).alignedAlloc(16, increment);
  return p === 0 ? 0xffffffff : p;
}
