/**
 * create — making a heap (createHeap) and joining one from another worker (attachHeap).
 *
 * Invariants: the header records the options every worker must share (checked mode); a worker
 * gets a DebugHeap exactly when the heap is checked or it asked for tracing, so the default
 * Heap class — and its fast paths — stay free of both.
 */

import { describe } from "./arguments.js";
import { DebugHeap } from "./debug_heap.js";
import { installExitReports } from "./exit_reports.js";
import { Heap, type HeapHandle } from "./heap.js";
import { H, HO, Page } from "./layout.js";
import { LinearMemory } from "./memory.js";
import { resolveDebug, resolveOptions, type HeapOptions } from "./options.js";
import { Region } from "./region.js";
import { ensureMapped } from "./segments.js";

/** Pages of the smallest first arena: its page table, a page of thread slots, one data page. */
const MIN_ARENA_PAGES = 3;

/**
 * Creates a heap. With no options: a growable SharedArrayBuffer that starts at one segment past
 * the metadata and grows up to 1 GiB.
 * @throws TypeError / RangeError on bad options, or a buffer too small to hold the metadata and
 * one page.
 */
export function createHeap(options?: HeapOptions): Heap {
  const o = resolveOptions(options);
  const config = { base: o.base, maxBytes: o.maxBytes, segmentShift: o.segmentShift };
  let metaEnd = Region.metadataEnd(config);
  if (!o.maxBytesGiven && o.memory.kind === "WebAssembly.Memory" && !o.memory.growTo(metaEnd)) {
    // JS cannot read a Memory's maximum: when the metadata for a 4 GiB region does not fit,
    // size the region by what the memory holds now.
    config.maxBytes = o.memory.byteLength - o.base;
    metaEnd = Region.metadataEnd(config);
  }
  // The smallest heap: its header and directories, then an arena of a page-table page, a page of
  // thread slots and one data page.
  if (metaEnd + MIN_ARENA_PAGES * Page.SIZE > o.base + config.maxBytes || !o.memory.growTo(metaEnd)) {
    throw new RangeError(
      `hakmem: createHeap: the region [${o.base}, ${o.base + config.maxBytes}) cannot hold the heap's metadata (${metaEnd - o.base} bytes for this maxBytes) and ${MIN_ARENA_PAGES} pages of ${Page.SIZE} bytes (a page table, thread slots, one data page)`,
    );
  }
  const rg = Region.format(o.memory, config);
  if (o.check) rg.i32[rg.hdr + H.OPTIONS] = HO.CHECKED;
  const segmentPages = 1 << (o.segmentShift - Page.SHIFT);
  const available = Math.min(rg.maxPages, Math.floor(o.memory.byteLength / Page.SIZE) - rg.firstPage);
  const wanted = o.created ? Math.max(segmentPages, Math.ceil((o.initialBytes - rg.dataStart) / Page.SIZE)) : Math.max(available, 1);
  if (!ensureMapped(rg, Math.min(wanted, rg.maxPages)) && !ensureMapped(rg, 1)) {
    throw new RangeError(`hakmem: createHeap: the buffer (${o.memory.byteLength} bytes) has no room for one page after the metadata and cannot grow`);
  }
  const heap = o.check || o.trace !== undefined ? new DebugHeap(rg, o.trace) : new Heap(rg);
  if (o.statsAtExit || o.leaksAtExit) installExitReports(heap, o.statsAtExit, o.leaksAtExit);
  return heap;
}

/**
 * Attaches this worker to a heap another worker created, from its {@link Heap.handle}. The new
 * Heap object has its own thread id and pages; blocks move freely between workers. A checked
 * heap stays checked; `options.trace` (or HAKMEM_TRACE) traces this worker's calls.
 * @throws TypeError when the handle is not one, or no heap header is found at its base.
 */
export function attachHeap(handle: HeapHandle, options: Pick<HeapOptions, "trace"> = {}): Heap {
  if (typeof handle !== "object" || handle === null || !("memory" in handle) || typeof handle.base !== "number") {
    throw new TypeError(`hakmem: attachHeap(handle) takes what heap.handle() returned, got ${describe(handle)}`);
  }
  const m = handle.memory;
  const shared =
    typeof SharedArrayBuffer !== "undefined" &&
    (m instanceof SharedArrayBuffer || (m instanceof WebAssembly.Memory && m.buffer instanceof SharedArrayBuffer));
  if (!shared) {
    throw new TypeError(`hakmem: attachHeap(handle): handle.memory must be a SharedArrayBuffer or a shared WebAssembly.Memory, got ${describe(m)}`);
  }
  const rg = Region.attach(new LinearMemory(m), handle.base);
  const trace = resolveDebug({ trace: options.trace }).trace;
  const checked = (rg.i32[rg.hdr + H.OPTIONS]! & HO.CHECKED) !== 0;
  return checked || trace !== undefined ? new DebugHeap(rg, trace) : new Heap(rg);
}
