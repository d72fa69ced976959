/**
 * stats — what the heap holds, counted by walking the page table.
 *
 * Nothing is counted on the fast paths: live blocks per class are the pages' PG.USED less the
 * blocks on their thread-free lists and in the workers' thread caches (their lists, walked), and the
 * page-level figures come from the counters the span allocator keeps under the heap lock. A
 * walk costs one read per page entry, so stats() is for reports and tests, not for hot loops.
 *
 * Invariant: taken under the heap lock, so spans do not change during the walk; blocks may still
 * come and go in pages owned by other workers.
 */

import { H, Kind, PG, Page, T } from "./layout.js";
import { pageHandedOut } from "./pages.js";
import type { Region } from "./region.js";
import { segmentCount } from "./segments.js";
import { CACHE_WORKER_BYTES, CLASS_SIZE, NUM_CLASSES } from "./size_classes.js";
import { forEachCached } from "./thread_cache.js";

/** Blocks of one size class. */
export interface ClassStats {
  /** Block size of the class in bytes. */
  size: number;
  /** Blocks in use. */
  liveBlocks: number;
  /** Free blocks of the class in the workers' thread caches. */
  cachedBlocks: number;
  /** Pages (spans) serving the class. */
  pages: number;
  /** Blocks those pages can hold. */
  capacity: number;
}

/** A snapshot of a heap, from {@link Heap.stats}. */
export interface HeapStats {
  /** Usable bytes of the blocks in use (each block counted at its usable size). */
  liveBytes: number;
  /** Blocks in use. */
  liveBlocks: number;
  /** Bytes of the pages in use: small pages and large blocks. */
  heapBytes: number;
  /** Largest `heapBytes` since the heap was created. */
  peakHeapBytes: number;
  /** Bytes of the region backed by the buffer: metadata and every data page, used or cached. */
  mappedBytes: number;
  /** Bytes of the region before the first data page: the header and the directories. */
  metadataBytes: number;
  /**
   * Bytes of the data pages that hold metadata: the arenas' page tables and the thread slots
   * (mapped, and in neither heapBytes nor metadataBytes). They grow with what is mapped.
   */
  tableBytes: number;
  /** Segment size in bytes. */
  segmentBytes: number;
  /** Segments with at least one page in use for blocks. */
  segmentsInUse: number;
  /** Mapped segments with no page in use for blocks (at most metadata), kept for reuse. */
  segmentsCached: number;
  /** Times the buffer was grown. */
  growths: number;
  /** Large blocks (runs of whole pages) in use. */
  largeBlocks: number;
  /** Bytes of the large blocks in use (whole pages). */
  largeBytes: number;
  /** Free blocks kept in the workers' thread caches (part of heapBytes, not of liveBlocks). */
  cachedBlocks: number;
  /** Their bytes (block sizes). */
  cachedBytes: number;
  /** Most bytes one worker's thread caches can hold (the sum over classes of cap × block size). */
  cacheLimitBytes: number;
  /** Per size class with any page, in order of size. */
  classes: ClassStats[];
  /** Per worker attached to the heap, in order of thread id. */
  threads: ThreadStats[];
}

/** What one worker holds, from {@link Heap.stats}. */
export interface ThreadStats {
  /** The worker's thread id (its `heap.threadId`). */
  threadId: number;
  /** Bytes of the small pages (spans of a size class) it owns: no other worker allocates from them. */
  pageBytes: number;
  /** Of those, the bytes of its current pages (the one per class that its refills take from). */
  currentPageBytes: number;
  /** Bytes of the free blocks in its pages: on their free lists, not in its thread cache. */
  freeBytes: number;
  /** Free blocks in its thread cache. */
  cachedBlocks: number;
  /** Their bytes (block sizes). */
  cachedBytes: number;
}

/** The current pages (thread slot T.CURRENT) of every occupied slot. */
function currentPages(rg: Region): Set<number> {
  const pages = new Set<number>();
  for (const slot of rg.occupiedSlots()) {
    for (let c = 0; c < NUM_CLASSES; c++) pages.add(rg.i32[slot + T.CURRENT + c]!);
  }
  return pages;
}

/** Walks the region and returns its statistics. */
export function collectStats(rg: Region): HeapStats {
  rg.lock();
  try {
    const i32 = rg.i32;
    const used = new Float64Array(NUM_CLASSES);
    const pages = new Float64Array(NUM_CLASSES);
    const capacity = new Float64Array(NUM_CLASSES);
    const segmentUsed = new Uint8Array(segmentCount(rg, rg.mappedPages));
    let largeBlocks = 0;
    let largeBytes = 0;
    const threads = new Map<number, ThreadStats>();
    const thread = (tid: number): ThreadStats => {
      let t = threads.get(tid);
      if (t === undefined) {
        t = { threadId: tid, pageBytes: 0, currentPageBytes: 0, freeBytes: 0, cachedBlocks: 0, cachedBytes: 0 };
        threads.set(tid, t);
      }
      return t;
    };
    for (const tid of rg.liveThreads()) thread(tid);
    const current = currentPages(rg);
    for (let r = 0; r < rg.mappedPages; ) {
      const e = rg.entryOfPage(r);
      const cls = i32[e + PG.CLASS]!;
      const n = i32[e + PG.PAGES]!;
      if (!(n >= 1 && r + n <= rg.mappedPages) || !(cls >= Kind.META && cls < NUM_CLASSES)) {
        throw new Error(`hakmem: stats: page ${r} heads a span of kind ${cls} and ${n} pages; the page table is corrupt (run check())`);
      }
      if (cls >= 0) {
        const handedOut = pageHandedOut(i32, e, cls);
        used[cls]! += handedOut;
        pages[cls]! += 1;
        capacity[cls]! += i32[e + PG.CAPACITY]!;
        const owner = Atomics.load(i32, e + PG.OWNER);
        if (owner !== 0) {
          const t = thread(owner);
          t.pageBytes += n * Page.SIZE;
          if (current.has(e)) t.currentPageBytes += n * Page.SIZE;
          t.freeBytes += (i32[e + PG.CAPACITY]! - handedOut) * CLASS_SIZE[cls]!;
        }
      } else if (cls === Kind.LARGE) {
        largeBlocks++;
        largeBytes += n * Page.SIZE;
      }
      if (cls !== Kind.FREE && cls !== Kind.META) for (let p = r; p < r + n; p++) segmentUsed[p >>> rg.segmentPageShift] = 1;
      r += n;
    }
    const cached = new Float64Array(NUM_CLASSES);
    forEachCached(rg, (tid, cls) => {
      cached[cls]!++;
      const t = thread(tid);
      t.cachedBlocks++;
      t.cachedBytes += CLASS_SIZE[cls]!;
    });
    let cachedBlocks = 0;
    let cachedBytes = 0;
    for (let c = 0; c < NUM_CLASSES; c++) {
      used[c] = Math.max(0, used[c]! - cached[c]!);
      cachedBlocks += cached[c]!;
      cachedBytes += cached[c]! * CLASS_SIZE[c]!;
    }
    const classes: ClassStats[] = [];
    let liveBytes = largeBytes;
    let liveBlocks = largeBlocks;
    for (let c = 0; c < NUM_CLASSES; c++) {
      if (pages[c] === 0) continue;
      const size = CLASS_SIZE[c]!;
      classes.push({ size, liveBlocks: used[c]!, cachedBlocks: cached[c]!, pages: pages[c]!, capacity: capacity[c]! });
      liveBytes += used[c]! * size;
      liveBlocks += used[c]!;
    }
    const segPages = 1 << rg.segmentPageShift;
    const mappedSegments = segmentUsed.length;
    const segmentsInUse = segmentUsed.reduce((sum, u) => sum + u, 0);
    return {
      liveBytes,
      liveBlocks,
      heapBytes: i32[rg.hdr + H.PAGES_IN_USE]! * Page.SIZE,
      peakHeapBytes: i32[rg.hdr + H.PEAK_PAGES_IN_USE]! * Page.SIZE,
      mappedBytes: rg.metadataBytes + rg.mappedPages * Page.SIZE,
      metadataBytes: rg.metadataBytes,
      tableBytes: i32[rg.hdr + H.META_PAGES]! * Page.SIZE,
      segmentBytes: segPages * Page.SIZE,
      segmentsInUse,
      segmentsCached: mappedSegments - segmentsInUse,
      growths: i32[rg.hdr + H.GROWTHS]!,
      largeBlocks,
      largeBytes,
      cachedBlocks,
      cachedBytes,
      cacheLimitBytes: CACHE_WORKER_BYTES,
      classes,
      threads: [...threads.values()].sort((a, b) => a.threadId - b.threadId),
    };
  } finally {
    rg.unlock();
  }
}


