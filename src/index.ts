/**
 * hakmem — a fast, aligned, headerless memory allocator for JavaScript over one ArrayBuffer,
 * SharedArrayBuffer or WebAssembly.Memory. Pointers are byte offsets into the buffer; 0 is null.
 *
 * ```ts
 * import { createHeap } from "hakmem";
 * const heap = createHeap({ maxBytes: 256 << 20 });
 * const p = heap.malloc(100);
 * heap.view(Float64Array, heap.calloc(8, 8), 8).fill(1);
 * heap.free(p);
 * ```
 *
 * @packageDocumentation
 */

export { attachHeap, createHeap } from "./create.js";
export { Heap, type HeapHandle, type TypedArrayConstructor } from "./heap.js";
export type { StringBlock, TypedArray } from "./typed_views.js";
export { HeapCorruptionError, type TraceMode } from "./debug_heap.js";
export { reclaimWhenGone, type ExitEvents, type Terminable } from "./liveness.js";
export type { HeapOptions } from "./options.js";
export type { HeapStats, ClassStats, ThreadStats } from "./stats.js";
export { PROBLEM_KINDS, type CheckReport, type HeapProblem } from "./heap_check.js";
export type { BlockInfo } from "./heap_walk.js";
export type { Backing, BackingKind, HeapBuffer } from "./memory.js";
export { CLASS_SIZE as SIZE_CLASSES, MID_MAX, SMALL_MAX } from "./size_classes.js";
export { PAGE_SIZE } from "./layout.js";
