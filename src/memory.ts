/**
 * memory — the backing buffer: what kind it is, how far it can grow, and growing it.
 *
 * Kinds: a fixed ArrayBuffer, a resizable ArrayBuffer, a fixed SharedArrayBuffer, a growable
 * SharedArrayBuffer, or a WebAssembly.Memory (shared or not).
 *
 * Invariants:
 * - `buffer` is the buffer object current at the last `refresh()` or `growTo()`: growing a
 *   WebAssembly.Memory replaces its buffer (and detaches the old one when it is not shared), so
 *   whoever holds views re-creates them after either call returns true.
 * - The byte length never shrinks.
 * - Callers serialize `growTo` with the heap lock: concurrent grows of one buffer race (the
 *   loser throws); after the lock is taken, `refresh()` shows what another worker did.
 */

/** Anything a heap can live in. */
export type Backing = ArrayBuffer | SharedArrayBuffer | WebAssembly.Memory;

/** The buffer a heap's pointers index. */
export type HeapBuffer = ArrayBuffer | SharedArrayBuffer;

/** Which kind of backing a heap lives in. */
export type BackingKind =
  | "ArrayBuffer"
  | "ResizableArrayBuffer"
  | "SharedArrayBuffer"
  | "GrowableSharedArrayBuffer"
  | "WebAssembly.Memory";

const WASM_MAX_BYTES = 2 ** 32;
/** A WebAssembly.Memory grows by pages of 64 KiB. */
const WASM_PAGE_BYTES = 65536;

export class LinearMemory {
  /** The object the heap was created over. */
  readonly source: Backing;
  readonly kind: BackingKind;
  /** True when the buffer can be shared between workers. */
  readonly shared: boolean;
  /** Upper bound on the byte length this buffer can ever reach. */
  readonly maxByteLength: number;
  buffer: HeapBuffer;

  constructor(source: Backing) {
    this.source = source;
    if (source instanceof WebAssembly.Memory) {
      this.kind = "WebAssembly.Memory";
      this.buffer = source.buffer;
      this.maxByteLength = WASM_MAX_BYTES; // JS cannot read the maximum; grow() tells us
    } else if (typeof SharedArrayBuffer !== "undefined" && source instanceof SharedArrayBuffer) {
      this.kind = source.growable ? "GrowableSharedArrayBuffer" : "SharedArrayBuffer";
      this.buffer = source;
      this.maxByteLength = source.growable ? source.maxByteLength : source.byteLength;
    } else {
      const ab = source as ArrayBuffer;
      this.kind = ab.resizable ? "ResizableArrayBuffer" : "ArrayBuffer";
      this.buffer = ab;
      this.maxByteLength = ab.resizable ? ab.maxByteLength : ab.byteLength;
    }
    this.shared = typeof SharedArrayBuffer !== "undefined" && this.buffer instanceof SharedArrayBuffer;
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  /**
   * True when someone grew a WebAssembly.Memory since `buffer` was read: its buffer object is a
   * new one (and the old one is detached when the memory is not shared). (A view's length is no
   * sure sign of detachment: V8's optimized code may read a detached view's old length.)
   */
  replaced(): boolean {
    return this.source instanceof WebAssembly.Memory && this.source.buffer !== this.buffer;
  }

  /** Re-reads the buffer after someone else may have grown it; true when it changed. */
  refresh(): boolean {
    if (this.source instanceof WebAssembly.Memory) {
      const b = this.source.buffer;
      if (b === this.buffer && b.byteLength === this.buffer.byteLength) return false;
      this.buffer = b;
      return true;
    }
    return false; // resizable and growable buffers change length in place
  }

  /**
   * Grows the buffer to at least `byteLength` bytes. Returns false, leaving the buffer as it was,
   * when the buffer cannot grow that far.
   */
  growTo(byteLength: number): boolean {
    const current = this.buffer.byteLength;
    if (byteLength <= current) return true;
    if (byteLength > this.maxByteLength) return false;
    try {
      switch (this.kind) {
        case "WebAssembly.Memory": {
          const mem = this.source as WebAssembly.Memory;
          mem.grow(Math.ceil((byteLength - current) / WASM_PAGE_BYTES));
          this.buffer = mem.buffer;
          return true;
        }
        case "ResizableArrayBuffer":
          (this.buffer as ArrayBuffer).resize(byteLength);
          return true;
        case "GrowableSharedArrayBuffer":
          (this.buffer as SharedArrayBuffer).grow(byteLength);
          return true;
        default:
          return false;
      }
    } catch {
      // The engine refused (the memory's maximum, or no address space left).
      return false;
    }
  }
}
