/**
 * typed views — typed arrays and UTF-8 strings in heap blocks: the logic behind Heap.mallocAs,
 * callocAs, reallocAs, freeView, allocString and readString (the Heap methods only delegate).
 *
 * Everything here is built on the heap's public malloc / calloc / realloc / free, so their
 * guarantees carry over unchanged: null (for a pointer: 0) when the heap is full, the old block
 * intact when a resize fails, checked mode's canaries, any worker may free any block.
 *
 * Invariants:
 * - Every view made here is length-fixed (an explicit element count; V8 reads length-tracking
 *   views on growable buffers several times slower) and lies over the heap's buffer as it is
 *   right after the allocation. The element type's alignment is always met: blocks are 8-byte
 *   aligned (16 from 16 bytes up) and no typed array has elements wider than 8 bytes.
 * - A view passed in (reallocAs, freeView) must be over a buffer that has been the heap's (the
 *   current one, or an earlier buffer object of a shared WebAssembly.Memory, still valid) and
 *   start at a live block; anything else throws before the heap is touched.
 * - Element counts are checked before any byte count is formed: a byte count above 2^32 − 1
 *   is a RangeError (the C overflow case, as for calloc), never a silent wrap.
 */

import { checkPointerType, checkSize, describe, hex } from "./arguments.js";
import type { Heap, TypedArrayConstructor } from "./heap.js";

/** Any of JavaScript's typed arrays: what {@link Heap.mallocAs} and its siblings hand out. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Uint8ClampedArray
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array
  | BigInt64Array
  | BigUint64Array;

/** A UTF-8 string copied into a heap block by {@link Heap.allocString}. */
export interface StringBlock {
  /** The block's byte offset; free it with {@link Heap.free}. */
  ptr: number;
  /** Bytes of UTF-8 written at `ptr` (no terminating NUL). */
  len: number;
}

/** Largest byte count a block can be asked for: sizes are uint32 in the C sense. */
const MAX_BLOCK_BYTES = 0xffffffff;

/** %TypedArray%, the prototype every typed-array constructor inherits from. */
const TypedArrayBase = Object.getPrototypeOf(Int8Array) as object;

const encoder = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the string, as encodeInto wrote it, not a marker to drop.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
/**
 * Whether TextEncoder.encodeInto and TextDecoder.decode take views over a kind of buffer. Node
 * takes any; Chromium 156 throws a TypeError for views over a SharedArrayBuffer ("must not be
 * shared") and over a resizable ArrayBuffer ("must not be resizable"). Learnt per kind and
 * direction on the first call; the bytes of a refused kind go through a copy.
 */
const takesView = new Map<string, boolean>();

/** The kind of buffer under `view`, as far as the text codecs care. */
function codecKind(view: Uint8Array, direction: "encode" | "decode"): string {
  const b = view.buffer;
  const kind = typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer ? "shared" : (b as ArrayBuffer).resizable ? "resizable" : "plain";
  return `${direction} ${kind}`;
}

/** `direct()`, or `copied()` where the runtime's codec refuses views like `view` (learnt on the first TypeError). */
function throughCodec<T>(view: Uint8Array, direction: "encode" | "decode", direct: () => T, copied: () => T): T {
  const kind = codecKind(view, direction);
  const known = takesView.get(kind);
  if (known === false) return copied();
  if (known === true) return direct();
  try {
    const r = direct();
    takesView.set(kind, true);
    return r;
  } catch (e) {
    if (!(e instanceof TypeError)) throw e;
    takesView.set(kind, false);
    return copied();
  }
}

/** "Float64Array", or a clear TypeError when `type` is no typed-array constructor. */
function typeName(type: unknown, call: string): string {
  if (typeof type === "function" && type.prototype instanceof (TypedArrayBase as typeof Int8Array)) return type.name;
  throw new TypeError(
    `hakmem: ${call}: type must be a typed-array constructor (Uint8Array, Int32Array, Float64Array, BigInt64Array, …), got ${
      typeof type === "function" ? `the function ${type.name || "(anonymous)"}` : describe(type)
    }`,
  );
}

/**
 * Bytes for `length` elements of `bpe` bytes, after checking `length`.
 * @throws TypeError / RangeError naming the call (which names the type and the length).
 */
function byteCount(length: unknown, bpe: number, call: string): number {
  if (typeof length !== "number") {
    throw new TypeError(`hakmem: ${call}: length must be a number of elements, got ${describe(length)} (${typeof length})`);
  }
  if (!Number.isSafeInteger(length) || length < 0) {
    throw new RangeError(`hakmem: ${call}: length must be a non-negative safe integer, got ${describe(length)}`);
  }
  const bytes = length * bpe;
  if (bytes > MAX_BLOCK_BYTES) {
    throw new RangeError(`hakmem: ${call}: ${length} elements × ${bpe} bytes = ${bytes} bytes overflows 2^32 − 1`);
  }
  return bytes;
}

/** "Float64Array(8) at 0x10010 (65552)", for messages about a view passed in. */
function describeView(view: TypedArray): string {
  return `${view.constructor.name}(${view.length}) at ${hex(view.byteOffset)}`;
}

/**
 * Per heap, every buffer object that was its heap.buffer when a view was made or checked here. A
 * shared WebAssembly.Memory hands out a new buffer object at each growth, and views over the
 * earlier ones stay valid; a foreign buffer never gets into the set.
 */
const heapBuffers = new WeakMap<Heap, WeakSet<ArrayBufferLike>>();

function noteBuffer(heap: Heap, buffer: ArrayBufferLike): void {
  let known = heapBuffers.get(heap);
  if (known === undefined) heapBuffers.set(heap, (known = new WeakSet()));
  known.add(buffer);
}

/** A view over `heap.buffer` (as it is now) of `length` elements at `ptr`; its buffer noted. */
function makeView<T extends TypedArray>(heap: Heap, type: TypedArrayConstructor<T>, ptr: number, length: number): T {
  const buffer = heap.buffer;
  noteBuffer(heap, buffer);
  return new type(buffer, ptr, length);
}

/**
 * Checks that `view` is a typed array over the heap's buffer that may start a block, and returns
 * its byte offset. Whether a live block starts there is for free/realloc to say.
 */
function blockOfView(heap: Heap, view: unknown, call: string): number {
  if (!ArrayBuffer.isView(view) || !(view instanceof (TypedArrayBase as typeof Int8Array))) {
    throw new TypeError(`hakmem: ${call}: view must be a typed array made by mallocAs, callocAs, reallocAs or view, got ${describe(view)}`);
  }
  const v = view as TypedArray;
  // heap.u8 rather than heap.buffer: its getter first takes in growth by others (and by wasm code).
  const current = heap.u8.buffer;
  noteBuffer(heap, current);
  if (v.buffer !== current && !heapBuffers.get(heap)!.has(v.buffer)) {
    throw new RangeError(
      `hakmem: ${call}: the ${describeView(v)} is not over this heap's buffer (heap.buffer). It may be a view of another ` +
        "buffer, or one that came through postMessage, whose buffer object is a copy: make views in this worker with " +
        "heap.view(Type, ptr, length) from the pointer",
    );
  }
  if (v.buffer.byteLength === 0) {
    // A heap's buffer is never empty: this one was detached by the growth of a non-shared
    // WebAssembly.Memory, and the view no longer knows where it was.
    throw new RangeError(
      `hakmem: ${call}: the ${v.constructor.name} is detached: the heap's WebAssembly.Memory grew since it was made. ` +
        "Keep the pointer (view.byteOffset, read before any allocation) and free it with free(ptr), or re-make the view with heap.view",
    );
  }
  if (v.byteOffset === 0) {
    // Pointer 0 is null, for which free and realloc have meanings of their own: no block is there.
    throw new RangeError(`hakmem: ${call}: the ${describeView(v)} starts at byte 0, where no block of the heap can start`);
  }
  return v.byteOffset;
}

/** Runs free / realloc on a view's block, naming the view in their pointer errors. */
function onBlockOf<R>(call: string, op: () => R): R {
  try {
    return op();
  } catch (e) {
    // RangeError / TypeError come from the pointer checks; HeapCorruptionError (checked mode)
    // already names the block and its fault, and passes through as it is.
    if (e instanceof RangeError || e instanceof TypeError) {
      const E = e instanceof RangeError ? RangeError : TypeError;
      throw new E(`hakmem: ${call}: the view does not start a live block: ${e.message.replace(/^hakmem: /, "")}`, { cause: e });
    }
    throw e;
  }
}

/** {@link Heap.mallocAs}. */
export function mallocAs<T extends TypedArray>(heap: Heap, type: TypedArrayConstructor<T>, length: number): T | null {
  const call = `mallocAs(${typeName(type, "mallocAs(type, length)")}, ${describe(length)})`;
  const p = heap.malloc(byteCount(length, type.BYTES_PER_ELEMENT, call));
  return p === 0 ? null : makeView(heap, type, p, length);
}

/** {@link Heap.callocAs}. */
export function callocAs<T extends TypedArray>(heap: Heap, type: TypedArrayConstructor<T>, length: number): T | null {
  const call = `callocAs(${typeName(type, "callocAs(type, length)")}, ${describe(length)})`;
  const bpe = type.BYTES_PER_ELEMENT;
  byteCount(length, bpe, call);
  const p = heap.calloc(length, bpe);
  return p === 0 ? null : makeView(heap, type, p, length);
}

/** {@link Heap.reallocAs}. */
export function reallocAs<T extends TypedArray>(heap: Heap, view: T, length: number): T | null {
  const ptr = blockOfView(heap, view, `reallocAs(view, ${describe(length)})`);
  const type = view.constructor as TypedArrayConstructor<T>;
  const call = `reallocAs(${describeView(view)}, ${describe(length)})`;
  const bytes = byteCount(length, type.BYTES_PER_ELEMENT, call);
  // realloc(p, 0) frees and returns 0, which here would read as "heap full, view intact":
  // an empty view keeps a block of its own instead, as mallocAs(type, 0) does.
  const q = onBlockOf(call, () => heap.realloc(ptr, Math.max(bytes, 1)));
  return q === 0 ? null : makeView(heap, type, q, length);
}

/** {@link Heap.freeView}. */
export function freeView(heap: Heap, view: TypedArray | null): void {
  if (view === null) return;
  const ptr = blockOfView(heap, view, "freeView(view)");
  onBlockOf(`freeView(${describeView(view)})`, () => heap.free(ptr));
}

/** UTF-8 bytes of `s` as TextEncoder writes them: unpaired surrogates become U+FFFD (3 bytes). */
function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) {
      n += 1;
    } else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a surrogate pair: 2 code units, 4 bytes
      i++;
    } else {
      n += 2;
    }
  }
  return n;
}

/** {@link Heap.allocString}. */
export function allocString(heap: Heap, s: string): StringBlock | null {
  if (typeof s !== "string") throw new TypeError(`hakmem: allocString(s): s must be a string, got ${describe(s)}`);
  // Measured first, so that the block has exactly the bytes encodeInto will write.
  const len = utf8Length(s);
  const ptr = heap.malloc(len);
  if (ptr === 0) return null;
  const target = new Uint8Array(heap.buffer, ptr, len);
  throughCodec(target, "encode", () => void encoder.encodeInto(s, target), () => target.set(encoder.encode(s)));
  return { ptr, len };
}

/** {@link Heap.readString}. */
export function readString(heap: Heap, ptr: number, len: number): string {
  const call = `readString(${describe(ptr)}, ${describe(len)})`;
  checkPointerType(ptr, `${call}: ptr`);
  checkSize(len, `${call}: len`);
  const u8 = heap.u8; // re-created after growth, also growth by another worker or by wasm code
  if (ptr + len > u8.length) {
    throw new RangeError(`hakmem: ${call}: bytes [${ptr}, ${ptr + len}) run past the end of the heap's buffer (${u8.length} bytes)`);
  }
  const bytes = u8.subarray(ptr, ptr + len);
  return throughCodec(bytes, "decode", () => decoder.decode(bytes), () => decoder.decode(bytes.slice()));
}
