/**
 * stats — what the heap holds, counted by walking the page table.
 *
 * Nothing is counted on the fast paths: live blocks per class are the pages' PG.USED less the
 * blocks on their thread-free lists and in the workers' thread caches (by their room words), and the
 * page-level figures come from the counters the span allocator keeps under the heap lock. A
 * walk costs one read per page entry, so stats() is for reports and tests, not for hot loops.
 *
 * Invariant: taken under the heap lock, so spans do not change during the walk; blocks may still
 * come and go in pages owned by other workers.
 */

import { H, Kind, PG, Page } from "./layout.js";
import { pageHandedOut } from "./pages.js";
import type { Region } from "./region.js";
import { segmentCount } from "./segments.js";
import { CLASS_CAPACITY, CLASS_SIZE, NUM_CLASSES } from "./size_classes.js";
import { cachedByClass } from "./thread_cache.js";

/** Blocks of one size class. */
export interface ClassStats {
  /** Block size of the class in bytes. */
  size: number;
  /** Blocks in use. */
  liveBlocks: number;
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
  /** Bytes of the region before the first data page. */
  metadataBytes: number;
  /** Segment size in bytes. */
  segmentBytes: number;
  /** Segments with at least one page in use. */
  segmentsInUse: number;
  /** Mapped segments with no page in use, kept for reuse. */
  segmentsCached: number;
  /** Times the buffer was grown. */
  growths: number;
  /** Large blocks (runs of whole pages) in use, and their bytes. */
  largeBlocks: number;
  largeBytes: number;
  /** Per size class with any page, in order of size. */
  classes: ClassStats[];
}

/** Walks the region and returns its statistics. */
export function collectStats(rg: Region): HeapStats {
  rg.lock();
  try {
    const i32 = rg.i32;
    const used = new Float64Array(NUM_CLASSES);
    const pages = new Float64Array(NUM_CLASSES);
    let largeBlocks = 0;
    let largeBytes = 0;
    for (let r = 0; r < rg.mappedPages; ) {
      const e = rg.entryOfPage(r);
      const cls = i32[e + PG.CLASS]!;
      const n = i32[e + PG.PAGES]!;
      if (cls >= 0) {
        used[cls]! += pageHandedOut(i32, e, cls);
        pages[cls]! += 1;
      } else if (cls === Kind.LARGE) {
        largeBlocks++;
        largeBytes += n * Page.SIZE;
      } else if (cls !== Kind.FREE) {
        throw new Error(`hakmem: stats: page entry ${r} has kind ${cls}; the page table is corrupt`);
      }
      r += n;
    }
    const cached = cachedByClass(rg);
    for (let c = 0; c < NUM_CLASSES; c++) used[c] = Math.max(0, used[c]! - cached[c]!);
    const classes: ClassStats[] = [];
    let liveBytes = largeBytes;
    let liveBlocks = largeBlocks;
    for (let c = 0; c < NUM_CLASSES; c++) {
      if (pages[c] === 0) continue;
      const size = CLASS_SIZE[c]!;
      classes.push({ size, liveBlocks: used[c]!, pages: pages[c]!, capacity: pages[c]! * CLASS_CAPACITY[c]! });
      liveBytes += used[c]! * size;
      liveBlocks += used[c]!;
    }
    const segPages = 1 << rg.segmentPageShift;
    let segmentsInUse = 0;
    const mappedSegments = segmentCount(rg, rg.mappedPages);
    for (let s = 0; s < mappedSegments; s++) if (i32[rg.segmentsWord + s]! > 0) segmentsInUse++;
    return {
      liveBytes,
      liveBlocks,
      heapBytes: i32[rg.hdr + H.PAGES_IN_USE]! * Page.SIZE,
      peakHeapBytes: i32[rg.hdr + H.PEAK_PAGES_IN_USE]! * Page.SIZE,
      mappedBytes: rg.metadataBytes + rg.mappedPages * Page.SIZE,
      metadataBytes: rg.metadataBytes,
      segmentBytes: segPages * Page.SIZE,
      segmentsInUse,
      segmentsCached: mappedSegments - segmentsInUse,
      growths: i32[rg.hdr + H.GROWTHS]!,
      largeBlocks,
      largeBytes,
      classes,
    };
  } finally {
    rg.unlock();
  }
}


