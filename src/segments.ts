/**
 * segments — the page-span allocator shared by all workers: acquire and release runs of pages,
 * keep free runs for reuse, grow the buffer one segment at a time when none fits.
 *
 * Basic design: the data pages form a sequence of spans, each either in use (a small page of a
 * size class, or a large block) or free. Free spans sit in bins by length (exact bins for 1..16
 * pages, one bin per power of two above) and are coalesced with free neighbours when released,
 * so no two free spans are ever adjacent. A request takes the first span that fits from the
 * smallest bin that can hold it and returns the tail to the bins. Segments (the seed's
 * SuperSlabs; 1 MiB by default) are the unit of growth and of accounting: the segment table
 * counts pages in use per segment, so a segment with none is "cached" — kept for reuse, never
 * handed back, because a buffer cannot shrink and churning memory is what the seed regretted.
 *
 * Invariants (all under the heap lock, H.LOCK):
 * - Every mapped page belongs to exactly one span. For a span in use, every page's PG.HEAD is
 *   the head entry and the head's PG.CLASS is a size class or Kind.LARGE. For a free span, its
 *   head and its last page carry PG.CLASS = Kind.FREE, PG.PAGES = length and PG.HEAD = head.
 * - A free span is in exactly one bin: binOf(length); bins are doubly linked via PG.NEXT/PG.PREV.
 * - H.PAGES_IN_USE = sum of the lengths of spans in use = sum of the segment table.
 * - H.MAPPED_PAGES only grows; every growth of the buffer bumps H.GROWTHS.
 */

import { Bins, Entry, H, Kind, PG, Page } from "./layout.js";
import { initPage } from "./pages.js";
import type { Region } from "./region.js";

/** Bin of a free span of `pages` pages. */
export function binOf(pages: number): number {
  if (pages <= Bins.EXACT) return pages - 1;
  return Math.min(Bins.COUNT - 1, Bins.EXACT - 4 + (31 - Math.clz32(pages)));
}

/**
 * Acquires a span of `pages` pages whose first page number is a multiple of `alignPages`, marks
 * it in use with PG.CLASS = `kind` and returns its head entry, or 0 when the region cannot hold
 * it. A small page (kind >= 0) is set up for its owner `owner` under the lock, so that a worker
 * terminated right after still owns it (and reclaimThread finds it). The caller refreshes its
 * views: the buffer may have grown.
 */
export function acquireSpan(rg: Region, pages: number, kind: number, alignPages = 1): number {
  rg.lock();
  try {
    const need = pages + alignPages - 1;
    let e = takeFree(rg, need);
    if (e === 0 && grow(rg, need)) e = takeFree(rg, need);
    if (e === 0) return 0;
    const i32 = rg.i32;
    let total = i32[e + PG.PAGES]!;
    if (alignPages > 1) {
      const pad = (alignPages - ((rg.firstPage + rg.pageOfEntry(e)) % alignPages)) % alignPages;
      if (pad > 0) {
        insertFree(rg, e, pad);
        e += pad * Entry.WORDS;
        total -= pad;
      }
    }
    if (total > pages) insertFree(rg, e + pages * Entry.WORDS, total - pages);
    const owner = kind >= 0 ? rg.tid : 0;
    if (kind >= 0) initPage(i32, e, kind, owner, rg.slotNo);
    else i32[e + PG.TAG] = 0;
    markInUse(rg, e, pages, kind, owner);
    return e;
  } finally {
    rg.unlock();
  }
}

/** Returns the span whose head entry is `e` to the free bins, coalescing with free neighbours. */
export function releaseSpan(rg: Region, e: number): void {
  rg.lock();
  try {
    countInUse(rg, rg.pageOfEntry(e), rg.i32[e + PG.PAGES]!, -1);
    releaseLocked(rg, e);
  } finally {
    rg.unlock();
  }
}

/** Shrinks the span in use at `e` to its first `keep` pages, releasing the rest. */
export function shrinkSpan(rg: Region, e: number, keep: number): void {
  rg.lock();
  try {
    const i32 = rg.i32;
    const pages = i32[e + PG.PAGES]!;
    if (keep >= pages) return;
    const tail = e + keep * Entry.WORDS;
    i32[e + PG.PAGES] = keep;
    i32[tail + PG.PAGES] = pages - keep;
    i32[tail + PG.CLASS] = i32[e + PG.CLASS]!;
    for (let i = 0; i < pages - keep; i++) i32[tail + i * Entry.WORDS + PG.HEAD] = tail;
    countInUse(rg, rg.pageOfEntry(tail), pages - keep, -1);
    releaseLocked(rg, tail);
  } finally {
    rg.unlock();
  }
}

/**
 * Extends the span in use at `e` to `pages` pages by taking the free span right after it, when
 * there is one and it is long enough. Returns true when the span now has `pages` pages.
 */
export function growSpanInPlace(rg: Region, e: number, pages: number): boolean {
  rg.lock();
  try {
    const i32 = rg.i32;
    const have = i32[e + PG.PAGES]!;
    const next = e + have * Entry.WORDS;
    if (rg.pageOfEntry(next) >= rg.mappedPages) return false;
    if (i32[next + PG.CLASS] !== Kind.FREE || i32[next + PG.HEAD] !== next) return false;
    const avail = i32[next + PG.PAGES]!;
    if (have + avail < pages) return false;
    unlinkFree(rg, next);
    const extra = pages - have;
    if (avail > extra) insertFree(rg, next + extra * Entry.WORDS, avail - extra);
    for (let i = 0; i < extra; i++) i32[next + i * Entry.WORDS + PG.HEAD] = e;
    i32[e + PG.PAGES] = pages;
    countInUse(rg, rg.pageOfEntry(next), extra, 1);
    return true;
  } finally {
    rg.unlock();
  }
}

/**
 * Makes all mapped pages one free span, forgetting every span in use. Only for a heap that no
 * other worker is using.
 */
export function resetSpans(rg: Region): void {
  rg.lock();
  try {
    const i32 = rg.i32;
    i32.fill(0, rg.binsWord, rg.binsWord + Bins.COUNT);
    const segs = segmentCount(rg, rg.maxPages);
    i32.fill(0, rg.segmentsWord, rg.segmentsWord + segs);
    i32.fill(0, rg.pageTableWord, rg.pageTableWord + rg.mappedPages * Entry.WORDS);
    i32[rg.hdr + H.PAGES_IN_USE] = 0;
    // Every mapped page's PG.HEAD must name an entry of the table (see layout.ts).
    for (let r = 0; r < rg.mappedPages; r++) {
      i32[rg.entryOfPage(r) + PG.HEAD] = rg.pageTableWord;
      i32[rg.entryOfPage(r) + PG.CLASS] = Kind.FREE;
    }
    if (rg.mappedPages > 0) insertFree(rg, rg.pageTableWord, rg.mappedPages);
  } finally {
    rg.unlock();
  }
}

/**
 * Makes sure at least `pages` data pages are mapped (used at creation). Returns false when the
 * buffer cannot grow that far.
 */
export function ensureMapped(rg: Region, pages: number): boolean {
  rg.lock();
  try {
    rg.sync();
    return pages <= rg.mappedPages || grow(rg, pages - rg.mappedPages);
  } finally {
    rg.unlock();
  }
}

/**
 * Rebuilds the span bins, the segment table and the pages-in-use count from the page table,
 * after a worker was terminated inside the heap lock (its operation may have stopped half way).
 * A span in use is recognised by its head: PG.CLASS not free, PG.HEAD naming itself, a length
 * that fits. Every other page is free, and runs of free pages become free spans. An operation
 * cut short before it marked its span in use leaves that span free; one cut short after may
 * leave a few pages counted in use that nobody owns (a leak, not a corruption). Call it with the
 * lock held; it releases it.
 */
export function repairSpans(rg: Region): void {
  // The caller took the lock over from the dead worker (takeOverLock).
  try {
    const i32 = rg.i32;
    i32.fill(0, rg.binsWord, rg.binsWord + Bins.COUNT);
    i32.fill(0, rg.segmentsWord, rg.segmentsWord + segmentCount(rg, rg.maxPages));
    i32[rg.hdr + H.PAGES_IN_USE] = 0;
    let freeStart = -1;
    const flushFree = (end: number): void => {
      if (freeStart < 0) return;
      const head = rg.entryOfPage(freeStart);
      for (let r = freeStart; r < end; r++) i32[rg.entryOfPage(r) + PG.HEAD] = head;
      insertFree(rg, head, end - freeStart);
      freeStart = -1;
    };
    for (let r = 0; r < rg.mappedPages; ) {
      const e = rg.entryOfPage(r);
      const n = i32[e + PG.PAGES]!;
      if (i32[e + PG.CLASS] !== Kind.FREE && i32[e + PG.HEAD] === e && n > 0 && r + n <= rg.mappedPages) {
        flushFree(r);
        for (let k = 0; k < n; k++) i32[e + k * Entry.WORDS + PG.HEAD] = e;
        countInUse(rg, r, n, 1);
        r += n;
      } else {
        i32[e + PG.CLASS] = Kind.FREE;
        if (freeStart < 0) freeStart = r;
        r++;
      }
    }
    flushFree(rg.mappedPages);
  } finally {
    rg.unlock();
  }
}

/** Number of segments that `pages` data pages touch. */
export function segmentCount(rg: Region, pages: number): number {
  return Math.ceil(pages / (1 << rg.segmentPageShift));
}

// ─── Below: called with the lock held ─────────────────────────────────────────────────────

function takeFree(rg: Region, pages: number): number {
  const i32 = rg.i32;
  for (let b = binOf(pages); b < Bins.COUNT; b++) {
    for (let e = i32[rg.binsWord + b]!; e !== 0; e = i32[e + PG.NEXT]!) {
      if (i32[e + PG.PAGES]! >= pages) {
        unlinkFree(rg, e);
        return e;
      }
    }
  }
  return 0;
}

function insertFree(rg: Region, e: number, pages: number): void {
  const i32 = rg.i32;
  const last = e + (pages - 1) * Entry.WORDS;
  i32[e + PG.CLASS] = Kind.FREE;
  i32[e + PG.OWNER] = 0;
  i32[e + PG.TAG] = 0;
  i32[e + PG.PAGES] = pages;
  i32[e + PG.HEAD] = e;
  i32[e + PG.START] = rg.startOfEntry(e) | 0;
  i32[last + PG.CLASS] = Kind.FREE;
  i32[last + PG.PAGES] = pages;
  i32[last + PG.HEAD] = e;
  const bin = rg.binsWord + binOf(pages);
  const first = i32[bin]!;
  i32[e + PG.NEXT] = first;
  i32[e + PG.PREV] = 0;
  if (first !== 0) i32[first + PG.PREV] = e;
  i32[bin] = e;
}

function unlinkFree(rg: Region, e: number): void {
  const i32 = rg.i32;
  const next = i32[e + PG.NEXT]!;
  const prev = i32[e + PG.PREV]!;
  if (prev !== 0) i32[prev + PG.NEXT] = next;
  else i32[rg.binsWord + binOf(i32[e + PG.PAGES]!)] = next;
  if (next !== 0) i32[next + PG.PREV] = prev;
}

function markInUse(rg: Region, e: number, pages: number, kind: number, owner: number): void {
  const i32 = rg.i32;
  for (let i = 0; i < pages; i++) i32[e + i * Entry.WORDS + PG.HEAD] = e;
  i32[e + PG.CLASS] = kind;
  i32[e + PG.OWNER] = owner;
  i32[e + PG.PAGES] = pages;
  i32[e + PG.START] = rg.startOfEntry(e) | 0;
  countInUse(rg, rg.pageOfEntry(e), pages, 1);
}

/** Makes the span at `e` (no longer counted in use) free, joined with free neighbours. */
function releaseLocked(rg: Region, e: number): void {
  const i32 = rg.i32;
  let head = e;
  let pages = i32[e + PG.PAGES]!;
  i32[e + PG.CLASS] = Kind.FREE;
  if (rg.pageOfEntry(e) > 0) {
    const left = e - Entry.WORDS;
    const lh = i32[left + PG.HEAD]!;
    if (i32[lh + PG.CLASS] === Kind.FREE && lh + (i32[lh + PG.PAGES]! - 1) * Entry.WORDS === left) {
      unlinkFree(rg, lh);
      pages += i32[lh + PG.PAGES]!;
      head = lh;
    }
  }
  const right = e + i32[e + PG.PAGES]! * Entry.WORDS;
  if (rg.pageOfEntry(right) < rg.mappedPages && i32[right + PG.CLASS] === Kind.FREE && i32[right + PG.HEAD] === right) {
    unlinkFree(rg, right);
    pages += i32[right + PG.PAGES]!;
  }
  insertFree(rg, head, pages);
}

/** Adds `sign` x the pages [first, first + pages) to the pages-in-use counts. */
function countInUse(rg: Region, first: number, pages: number, sign: number): void {
  const i32 = rg.i32;
  const shift = rg.segmentPageShift;
  let p = first;
  const end = first + pages;
  while (p < end) {
    const seg = p >>> shift;
    const segEnd = Math.min(end, (seg + 1) << shift);
    i32[rg.segmentsWord + seg] += sign * (segEnd - p);
    p = segEnd;
  }
  const inUse = (i32[rg.hdr + H.PAGES_IN_USE] += sign * pages);
  if (inUse > i32[rg.hdr + H.PEAK_PAGES_IN_USE]!) i32[rg.hdr + H.PEAK_PAGES_IN_USE] = inUse;
}

/**
 * Maps enough new pages at the end for a free span of `pages` pages, and at least a quarter
 * more than are mapped, in whole segments, where the buffer allows (else just enough). Returns
 * false, changing nothing, when it cannot.
 */
function grow(rg: Region, pages: number): boolean {
  rg.sync();
  const i32 = rg.i32;
  const mapped = rg.mappedPages;
  // A free span that ends at the mapped end will coalesce with the new pages.
  let tailFree = 0;
  if (mapped > 0) {
    const last = rg.entryOfPage(mapped - 1);
    const lh = i32[last + PG.HEAD]!;
    if (i32[lh + PG.CLASS] === Kind.FREE && lh + (i32[lh + PG.PAGES]! - 1) * Entry.WORDS === last) {
      tailFree = i32[lh + PG.PAGES]!;
    }
  }
  const minimum = mapped + pages - tailFree;
  if (minimum > rg.maxPages) return false;
  const segPages = 1 << rg.segmentPageShift;
  // Grow by at least a quarter of what is mapped (whole segments): fewer, larger growths.
  const wanted = Math.max(minimum, mapped + (mapped >>> 2));
  const rounded = Math.min(rg.maxPages, Math.ceil(wanted / segPages) * segPages);
  let target = rounded;
  const before = rg.memory.byteLength;
  if (!rg.memory.growTo((rg.firstPage + target) * Page.SIZE)) {
    target = minimum;
    if (!rg.memory.growTo((rg.firstPage + target) * Page.SIZE)) return false;
  }
  rg.refreshViews();
  const w = rg.i32;
  if (rg.memory.byteLength !== before) w[rg.hdr + H.GROWTHS] += 1;
  // The new pages form a free span, complete before it is published: a worker terminated in
  // between leaves either no new pages or a free span that repairSpans recognises.
  const e = rg.entryOfPage(mapped);
  const n = target - mapped;
  for (let i = 0; i < n; i++) w[e + i * Entry.WORDS + PG.HEAD] = e;
  w[e + PG.CLASS] = Kind.FREE;
  w[e + PG.PAGES] = n;
  Atomics.store(w, rg.hdr + H.MAPPED_PAGES, target);
  rg.mappedPages = target;
  releaseLocked(rg, e); // joins the free tail, if any
  return true;
}
