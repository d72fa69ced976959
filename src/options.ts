/**
 * options — what `createHeap` accepts, checked, with defaults filled in.
 *
 * Invariants of a resolved configuration:
 * - `base` is a multiple of 16 and `base + maxBytes` lies within what the buffer can ever reach
 *   and below 2^32 (pointers are uint32).
 * - `segmentBytes` is a power of two from two pages (16 KiB) to 256 MiB.
 */

import { checkSize, describe } from "./arguments.js";
import { MAX_REGION_BYTES, Page } from "./layout.js";
import { LinearMemory, type Backing } from "./memory.js";

/** Options of {@link createHeap}. All are optional. */
export interface HeapOptions {
  /**
   * The memory to manage: an ArrayBuffer (fixed or resizable), a SharedArrayBuffer (fixed or
   * growable) or a WebAssembly.Memory. When omitted, a new buffer is created: a growable
   * SharedArrayBuffer, or a resizable ArrayBuffer (see `shared`).
   */
  buffer?: Backing;
  /**
   * Byte offset of the heap's region in `buffer` (default 0): everything before it is left
   * alone, e.g. a WebAssembly module's data section and stack. A multiple of 16.
   */
  base?: number;
  /**
   * Largest size of the heap's region in bytes, metadata included (default: as far as the buffer
   * can grow, or 1 GiB for a new buffer). Growth stops there and malloc returns 0.
   */
  maxBytes?: number;
  /**
   * Bytes of a new buffer at creation (default: the metadata plus one segment). Ignored when
   * `buffer` is given.
   */
  initialBytes?: number;
  /**
   * Kind of buffer to create when none is given. Default true where SharedArrayBuffer exists: a
   * growable SharedArrayBuffer, which workers can attach to and whose fixed-length views V8
   * reads fastest. false: a resizable ArrayBuffer (transferable; typed arrays over resizable
   * ArrayBuffers are about 1.5x slower to access in V8).
   */
  shared?: boolean;
  /**
   * Segment size: the unit the heap grows by and accounts in (default 128 KiB). A power of two
   * from 16 KiB to 256 MiB.
   */
  segmentBytes?: number;
  /**
   * Checked mode (default false; `HAKMEM_CHECK=1`): canaries behind blocks, patterns in freed
   * blocks, and errors naming the pointer, page, class and fault for double frees, overflows and
   * writes after free. Slower; for development and tests.
   */
  check?: boolean;
  /** Log the route of each call to stderr (default off; `HAKMEM_TRACE=alloc|free|all`). */
  trace?: "alloc" | "free" | "all";
  /** Print a statistics table when the process exits (Node; default false; `HAKMEM_STATS=1`). */
  statsAtExit?: boolean;
  /** Print the blocks still live when the process exits, by size (Node; `HAKMEM_LEAKS=1`). */
  leaksAtExit?: boolean;
}

export interface ResolvedOptions {
  memory: LinearMemory;
  base: number;
  maxBytes: number;
  initialBytes: number;
  segmentShift: number;
  /** True when the buffer was created here (so it may be sized freely). */
  created: boolean;
  /** True when maxBytes came from the options rather than from what the buffer allows. */
  maxBytesGiven: boolean;
  check: boolean;
  trace: "alloc" | "free" | "all" | undefined;
  statsAtExit: boolean;
  leaksAtExit: boolean;
}

/**
 * Why a context has no SharedArrayBuffer and how to get it, for errors: browsers give it only to
 * cross-origin isolated pages and their workers.
 */
export const NO_SHARED_MEMORY_HELP =
  "browsers provide it only to cross-origin isolated pages; serve the page and its workers' scripts with the headers " +
  "Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp, and check that crossOriginIsolated is true";

const DEFAULT_MAX_BYTES = 1 << 30;
const DEFAULT_SEGMENT_BYTES = 128 * 1024;
/** Two pages: an arena's table page and one data page. */
const MIN_SEGMENT_BYTES = 2 * Page.SIZE;
const MAX_SEGMENT_BYTES = 1 << 28;
const KNOWN = new Set(["buffer", "base", "maxBytes", "initialBytes", "shared", "segmentBytes", "check", "trace", "statsAtExit", "leaksAtExit"]);
const TRACE_MODES = ["alloc", "free", "all"] as const;

/** The HAKMEM_* environment variables (Node, Deno and Bun expose `process.env`; browsers none). */
function env(name: string): string | undefined {
  const p = (globalThis as { process?: { env?: Record<string, string | undefined> } }).process;
  const v = p?.env?.[name];
  return v === undefined || v === "" ? undefined : v;
}

function envFlag(name: string): boolean {
  const v = env(name);
  return v !== undefined && v !== "0" && v.toLowerCase() !== "false";
}

/** The debugging options, with the HAKMEM_* variables as defaults. */
export function resolveDebug(options: HeapOptions): Pick<ResolvedOptions, "check" | "trace" | "statsAtExit" | "leaksAtExit"> {
  for (const key of ["check", "statsAtExit", "leaksAtExit"] as const) {
    if (options[key] !== undefined && typeof options[key] !== "boolean") {
      throw new TypeError(`hakmem: createHeap: ${key} must be a boolean, got ${describe(options[key])}`);
    }
  }
  const trace = options.trace ?? (env("HAKMEM_TRACE") as HeapOptions["trace"]);
  if (trace !== undefined && !TRACE_MODES.includes(trace)) {
    throw new TypeError(`hakmem: createHeap: trace (or HAKMEM_TRACE) must be one of ${TRACE_MODES.join(", ")}, got ${describe(trace)}`);
  }
  return {
    check: options.check ?? envFlag("HAKMEM_CHECK"),
    trace,
    statsAtExit: options.statsAtExit ?? envFlag("HAKMEM_STATS"),
    leaksAtExit: options.leaksAtExit ?? envFlag("HAKMEM_LEAKS"),
  };
}

function isBacking(b: unknown): b is Backing {
  return (
    b instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== "undefined" && b instanceof SharedArrayBuffer) ||
    b instanceof WebAssembly.Memory
  );
}

/** Checks `options` and fills in defaults. Creates the buffer when none is given. */
export function resolveOptions(options: HeapOptions = {}): ResolvedOptions {
  if (typeof options !== "object" || options === null) {
    throw new TypeError(`hakmem: createHeap(options) takes an object, got ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.has(key)) {
      throw new TypeError(`hakmem: createHeap: unknown option "${key}" (known: ${[...KNOWN].join(", ")})`);
    }
  }
  const segmentBytes = options.segmentBytes === undefined ? DEFAULT_SEGMENT_BYTES : checkSize(options.segmentBytes, "createHeap: segmentBytes");
  if (segmentBytes < MIN_SEGMENT_BYTES || segmentBytes > MAX_SEGMENT_BYTES || (segmentBytes & (segmentBytes - 1)) !== 0) {
    throw new RangeError(`hakmem: createHeap: segmentBytes must be a power of two from ${MIN_SEGMENT_BYTES} to ${MAX_SEGMENT_BYTES}, got ${segmentBytes}`);
  }
  const segmentShift = 31 - Math.clz32(segmentBytes);
  const base = options.base === undefined ? 0 : checkSize(options.base, "createHeap: base");
  if (base % 16 !== 0) {
    throw new RangeError(`hakmem: createHeap: base must be a multiple of 16, got ${base}`);
  }
  if (options.shared !== undefined && typeof options.shared !== "boolean") {
    throw new TypeError(`hakmem: createHeap: shared must be a boolean, got ${describe(options.shared)}`);
  }
  const maxOpt = options.maxBytes === undefined ? undefined : checkSize(options.maxBytes, "createHeap: maxBytes");
  const initOpt = options.initialBytes === undefined ? undefined : checkSize(options.initialBytes, "createHeap: initialBytes");
  const debug = resolveDebug(options);

  if (options.buffer !== undefined) {
    if (!isBacking(options.buffer)) {
      throw new TypeError(
        `hakmem: createHeap: buffer must be an ArrayBuffer, a SharedArrayBuffer or a WebAssembly.Memory, got ${describe(options.buffer)}`,
      );
    }
    const memory = new LinearMemory(options.buffer);
    const limit = Math.min(memory.maxByteLength, MAX_REGION_BYTES);
    if (base >= limit) {
      throw new RangeError(`hakmem: createHeap: base ${base} lies past the end of the buffer (${limit} bytes at most)`);
    }
    const maxBytes = Math.min(maxOpt ?? limit - base, limit - base);
    return { memory, base, maxBytes, initialBytes: 0, segmentShift, created: false, maxBytesGiven: maxOpt !== undefined, ...debug };
  }

  const maxBytes = Math.min(maxOpt ?? DEFAULT_MAX_BYTES, MAX_REGION_BYTES) - base;
  const initialBytes = Math.min(maxBytes + base, initOpt ?? 0);
  const total = maxBytes + base;
  const shared = options.shared ?? typeof SharedArrayBuffer !== "undefined";
  let buffer: Backing;
  if (shared) {
    if (typeof SharedArrayBuffer === "undefined") {
      throw new TypeError(
        `hakmem: createHeap: shared: true needs SharedArrayBuffer, which this context does not provide: ${NO_SHARED_MEMORY_HELP}. ` +
          "(Without shared: true, createHeap() makes a heap over a resizable ArrayBuffer, which only this thread can use.)",
      );
    }
    buffer = new SharedArrayBuffer(initialBytes, { maxByteLength: total });
  } else {
    buffer = new ArrayBuffer(initialBytes, { maxByteLength: total });
  }
  return { memory: new LinearMemory(buffer), base, maxBytes, initialBytes, segmentShift, created: true, maxBytesGiven: maxOpt !== undefined, ...debug };
}
