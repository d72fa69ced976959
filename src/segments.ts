/**
 * segments — the page-span allocator shared by all workers: acquire and release runs of pages,
 * keep free runs for reuse, grow the buffer by an arena of whole segments when none fits.
 *
 * Basic design: the data pages form arenas, one per growth of the buffer, each a run of whole
 * segments (the seed's SuperSlabs; 128 KiB by default) whose first pages hold the arena's page
 * table. Within an arena the pages form a sequence of spans, each in use (a small page of a size
 * class, a large block, or metadata) or free. Free spans sit in bins by length (exact bins for
 * 1..16 pages, one bin per power of two above) and are coalesced with free neighbours when
 * released, so no two free spans are ever adjacent. A request takes a span from the smallest bin
 * that can hold it (an exact bin's head; in a power-of-two bin the best fit, fewest pages, then
 * lowest address) and returns the tail to the bins. A request no free span
 * fits grows the buffer: a new arena at least as large as the request and a quarter of what is
 * mapped (fewer, larger growths), in whole segments. Memory is never handed back, because a
 * buffer cannot shrink and churning memory is what the seed regretted; a segment with no page in
 * use is "cached".
 *
 * Invariants (all under the heap lock, H.LOCK):
 * - Every mapped page belongs to exactly one span, and spans never cross arenas. For a span in
 *   use, every page's PG.HEAD is the head entry and the head's PG.CLASS is a size class,
 *   Kind.LARGE or Kind.META; PG.START is its first byte. For a free span, its head and its last
 *   page carry PG.CLASS = Kind.FREE, PG.PAGES = length and PG.HEAD = head; the head's PG.START
 *   is its first byte; its other pages name some entry of the arena in PG.HEAD.
 * - An arena starts with its table pages (a Kind.META span) and its table ends with a sentinel
 *   entry (Kind.META, PG.HEAD = itself): the entry before a data page and the entry after a
 *   span's last page are always entries of the same arena, and never free across its ends.
 * - A free span is in exactly one bin: binOf(length); bins are doubly linked via PG.NEXT/PG.PREV.
 * - H.PAGES_IN_USE = sum of the lengths of the spans in use for blocks (small pages and large
 *   blocks); H.META_PAGES = sum of the lengths of the metadata spans.
 * - H.MAPPED_PAGES only grows, and only once a new arena's table and directory entries are
 *   complete; every growth of the buffer bumps H.GROWTHS.
 */

import { Bins, Entry, H, Kind, PG, Page, tablePages } from "./layout.js";
import { initPage } from "./pages.js";
import type { Region } from "./region.js";
import { NUM_CLASSES } from "./size_classes.js";

/** Bin of a free span of `pages` pages. */
export function binOf(pages: number): number {
  if (pages <= Bins.EXACT) return pages - 1;
  return Math.min(Bins.COUNT - 1, Bins.EXACT - 4 + (31 - Math.clz32(pages)));
}

/**
 * Acquires a span of `pages` pages whose first page number is a multiple of `alignPages`, marks
 * it in use with PG.CLASS = `kind` and returns its head entry, or 0 when the region cannot hold
 * it. A small page (kind >= 0) is set up for this region's worker (rg.tid, rg.slotNo) under the
 * lock, so that a worker terminated right after still owns it (and reclaimThread finds it). With
 * `grows` false it only looks among the free spans. The caller refreshes its views: the buffer
 * may have grown.
 */
export function acquireSpan(rg: Region, pages: number, kind: number, alignPages = 1, grows = true): number {
  rg.lock();
  try {
    const e = acquireSpanLocked(rg, pages, kind, alignPages, false);
    if (e !== 0 || !grows) return e;
  } finally {
    rg.unlock();
  }
  // No free span fits. The buffer never shrinks, so before it grows (or the heap reports itself
  // full) this worker gives back what it holds idle — cached blocks, empty pages — which may
  // coalesce into a span that fits. Outside the lock: giving back takes it.
  rg.releaseIdle();
  rg.lock();
  try {
    return acquireSpanLocked(rg, pages, kind, alignPages);
  } finally {
    rg.unlock();
  }
}

/** acquireSpan, for a caller that holds the heap lock; grows the buffer unless `grows` is false. */
export function acquireSpanLocked(rg: Region, pages: number, kind: number, alignPages = 1, grows = true): number {
  const need = pages + alignPages - 1;
  let e = takeFree(rg, need);
  if (e === 0 && grows && grow(rg, need)) e = takeFree(rg, need);
  if (e === 0) return 0;
  const i32 = rg.i32;
  let total = i32[e + PG.PAGES]!;
  let start = i32[e + PG.START]! >>> 0;
  if (alignPages > 1) {
    const pad = (alignPages - ((start >>> Page.SHIFT) % alignPages)) % alignPages;
    if (pad > 0) {
      insertFree(rg, e, pad, start);
      e += pad * Entry.WORDS;
      start += pad * Page.SIZE;
      total -= pad;
    }
  }
  if (total > pages) insertFree(rg, e + pages * Entry.WORDS, total - pages, start + pages * Page.SIZE);
  const owner = kind >= 0 ? rg.tid : 0;
  i32[e + PG.START] = start | 0;
  if (kind >= 0) initPage(i32, e, kind, owner, rg.slotNo, pages);
  else i32[e + PG.TAG] = 0;
  markInUse(rg, e, pages, kind, owner);
  return e;
}

/** Returns the span whose head entry is `e` to the free bins, coalescing with free neighbours. */
export function releaseSpan(rg: Region, e: number): void {
  rg.lock();
  try {
    // Coalesced into a free neighbour, `e` need not be a head any more: clear its owner here, or
    // free() of a pointer into it could still take it for a page of that worker.
    Atomics.store(rg.i32, e + PG.TAG, 0);
    Atomics.store(rg.i32, e + PG.OWNER, 0);
    countInUse(rg, -rg.i32[e + PG.PAGES]!);
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
    // The tail is free from its first store on: a worker stopped at the calls below leaves pages
    // that repairSpans makes free. (With the span's class it read as a span in use that no one
    // holds: a block lost for good, found by the default-mode fuzz after a cut realloc.)
    i32[tail + PG.CLASS] = Kind.FREE;
    i32[tail + PG.PAGES] = pages - keep;
    i32[tail + PG.START] = ((i32[e + PG.START]! >>> 0) + keep * Page.SIZE) | 0;
    for (let i = 0; i < pages - keep; i++) i32[tail + i * Entry.WORDS + PG.HEAD] = tail;
    countInUse(rg, keep - pages);
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
    const next = e + have * Entry.WORDS; // a page of the same arena, or its sentinel (never free)
    if (i32[next + PG.CLASS] !== Kind.FREE || i32[next + PG.HEAD] !== next) return false;
    const avail = i32[next + PG.PAGES]!;
    if (have + avail < pages) return false;
    unlinkFree(rg, next);
    const extra = pages - have;
    if (avail > extra) insertFree(rg, next + extra * Entry.WORDS, avail - extra, (i32[next + PG.START]! >>> 0) + extra * Page.SIZE);
    for (let i = 0; i < extra; i++) i32[next + i * Entry.WORDS + PG.HEAD] = e;
    i32[e + PG.PAGES] = pages;
    countInUse(rg, extra);
    return true;
  } finally {
    rg.unlock();
  }
}

/**
 * Makes every page but the metadata free, forgetting every span in use: per arena, each run of
 * pages between metadata spans becomes one free span. Only for a heap that no other worker is
 * using.
 */
export function resetSpans(rg: Region): void {
  rg.lock();
  try {
    rebuild(rg, (e) => rg.i32[e + PG.CLASS] === Kind.META);
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
    const more = pages - rg.mappedPages;
    return more <= 0 || grow(rg, Math.max(1, more - tablePages(more)), true);
  } finally {
    rg.unlock();
  }
}

/**
 * Rebuilds the span bins, the pages-in-use counts and the abandoned lists from the page table
 * (rebuild), after a worker was terminated inside the heap lock (its operation may have stopped
 * half way). A span in use is recognised by its head: PG.CLASS not free, PG.HEAD naming itself
 * and every page of it naming it, a length within the mapped pages. Every other page is free, and
 * runs of free pages become free spans. So every operation here writes a span's class last when
 * it takes one and first (Kind.FREE) when it gives pages up: a large malloc cut short leaves its
 * span free or whole (the block lost with the worker, as any block it had not yet stored); a small
 * page being released may stay in use, ownerless and empty, in the abandoned list, until the next
 * adoption or collect() releases it. test/span_cuts.test.ts stops every operation at every point a
 * termination can. Call it with the lock held; it releases it.
 */
export function repairSpans(rg: Region): void {
  // The caller took the lock over from the dead worker (takeOverLock).
  try {
    rebuild(rg, (e, r) => {
      const i32 = rg.i32;
      const n = i32[e + PG.PAGES]!;
      if (i32[e + PG.CLASS] === Kind.FREE || i32[e + PG.HEAD] !== e || !(n > 0 && r + n <= rg.mappedPages)) return false;
      for (let k = 1; k < n; k++) if (i32[e + k * Entry.WORDS + PG.HEAD] !== e) return false;
      return true;
    });
  } finally {
    rg.unlock();
  }
}

/**
 * Walks the mapped pages and keeps the spans `inUse` says are in use (by head entry and relative
 * page); every other page becomes free, each run of them one free span (runs end at spans in use,
 * and so at each arena's table pages). Rebuilds the bins, H.PAGES_IN_USE and the abandoned lists:
 * every small page in use that no thread owns goes into the list of its class (a worker stopped
 * inside the lock while it abandoned or adopted a page leaves one ownerless in no list, or a list
 * half linked). Lock held.
 */
function rebuild(rg: Region, inUse: (e: number, r: number) => boolean): void {
  const i32 = rg.i32;
  i32.fill(0, rg.binsWord, rg.binsWord + Bins.COUNT);
  i32.fill(0, rg.abandonedWord, rg.abandonedWord + NUM_CLASSES);
  i32[rg.hdr + H.PAGES_IN_USE] = 0;
  i32[rg.hdr + H.META_PAGES] = 0;
  let freeHead = 0;
  let freeStart = -1;
  const flushFree = (end: number): void => {
    if (freeStart < 0) return;
    for (let r = freeStart; r < end; r++) i32[rg.entryOfPage(r) + PG.HEAD] = freeHead;
    insertFree(rg, freeHead, end - freeStart, (rg.firstPage + freeStart) * Page.SIZE);
    freeStart = -1;
  };
  for (let r = 0; r < rg.mappedPages; ) {
    const e = rg.entryOfPage(r);
    if (inUse(e, r)) {
      flushFree(r);
      const n = i32[e + PG.PAGES]!;
      const kind = i32[e + PG.CLASS]!;
      if (kind === Kind.META) i32[rg.hdr + H.META_PAGES] += n;
      else countInUse(rg, n);
      if (kind >= 0 && Atomics.load(i32, e + PG.OWNER) === 0) {
        Atomics.store(i32, e + PG.TAG, 0);
        i32[e + PG.PREV] = 0;
        i32[e + PG.NEXT] = i32[rg.abandonedWord + kind]!;
        i32[rg.abandonedWord + kind] = e;
      }
      r += n;
    } else {
      i32[e + PG.CLASS] = Kind.FREE;
      i32[e + PG.OWNER] = 0;
      i32[e + PG.TAG] = 0;
      if (freeStart < 0) {
        freeStart = r;
        freeHead = e;
      }
      r++;
    }
  }
  flushFree(rg.mappedPages);
}

/** Number of segments that `pages` data pages touch. */
export function segmentCount(rg: Region, pages: number): number {
  return Math.ceil(pages / (1 << rg.segmentPageShift));
}

// ─── Below: called with the lock held ─────────────────────────────────────────────────────

function takeFree(rg: Region, pages: number): number {
  const i32 = rg.i32;
  for (let b = binOf(pages); b < Bins.COUNT; b++) {
    let best = i32[rg.binsWord + b]!;
    if (best === 0) continue;
    if (b >= Bins.EXACT) {
      // Spans of many lengths share this bin: the best fit (fewest pages, then lowest address),
      // so that long spans stay long for the requests that need them.
      best = 0;
      for (let e = i32[rg.binsWord + b]!; e !== 0; e = i32[e + PG.NEXT]!) {
        const n = i32[e + PG.PAGES]!;
        if (n >= pages && (best === 0 || n < i32[best + PG.PAGES]! || (n === i32[best + PG.PAGES]! && e < best))) best = e;
      }
      if (best === 0) continue;
    }
    unlinkFree(rg, best);
    return best;
  }
  return 0;
}

/** Makes the `pages` pages from entry `e` (first byte `start`) a free span in its bin. */
function insertFree(rg: Region, e: number, pages: number, start: number): void {
  const i32 = rg.i32;
  const last = e + (pages - 1) * Entry.WORDS;
  i32[e + PG.CLASS] = Kind.FREE;
  i32[e + PG.OWNER] = 0;
  i32[e + PG.TAG] = 0;
  i32[e + PG.PAGES] = pages;
  i32[e + PG.HEAD] = e;
  i32[e + PG.START] = start | 0;
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
  if (kind === Kind.META) i32[rg.hdr + H.META_PAGES] += pages;
  else countInUse(rg, pages);
}

/** Makes the span at `e` (no longer counted in use) free, joined with free neighbours. */
function releaseLocked(rg: Region, e: number): void {
  const i32 = rg.i32;
  let head = e;
  let pages = i32[e + PG.PAGES]!;
  let start = i32[e + PG.START]! >>> 0;
  i32[e + PG.CLASS] = Kind.FREE;
  // The entry before a data page is one of the same arena (its table pages come first).
  const left = e - Entry.WORDS;
  const lh = i32[left + PG.HEAD]!;
  if (i32[lh + PG.CLASS] === Kind.FREE && lh + (i32[lh + PG.PAGES]! - 1) * Entry.WORDS === left) {
    unlinkFree(rg, lh);
    pages += i32[lh + PG.PAGES]!;
    head = lh;
    start = i32[lh + PG.START]! >>> 0;
  }
  // The entry after the span's last page is one of the same arena, or its sentinel (never free).
  const right = e + i32[e + PG.PAGES]! * Entry.WORDS;
  if (i32[right + PG.CLASS] === Kind.FREE && i32[right + PG.HEAD] === right) {
    unlinkFree(rg, right);
    pages += i32[right + PG.PAGES]!;
  }
  insertFree(rg, head, pages, start);
}

/** Adds `pages` (negative: takes them away) to the pages in use, and keeps the peak. */
function countInUse(rg: Region, pages: number): void {
  const i32 = rg.i32;
  const inUse = (i32[rg.hdr + H.PAGES_IN_USE] += pages);
  if (inUse > i32[rg.hdr + H.PEAK_PAGES_IN_USE]!) i32[rg.hdr + H.PEAK_PAGES_IN_USE] = inUse;
}

/**
 * Maps a new arena at the end: room for a free span of `pages` pages after the arena's table, and
 * (unless `exact`) at least a quarter more than is mapped, in whole segments, where the buffer
 * allows (else just enough). Returns false, changing nothing, when it cannot.
 */
function grow(rg: Region, pages: number, exact = false): boolean {
  rg.sync();
  const mapped = rg.mappedPages;
  const segPages = 1 << rg.segmentPageShift;
  const room = rg.maxPages - mapped;
  // Fewest whole segments whose pages hold `pages` data pages besides the arena's own table (or,
  // at the region's end, what is left, if that holds them).
  let minimum = Math.ceil(pages / segPages) * segPages;
  while (minimum - tablePages(minimum) < pages) minimum += segPages;
  if (minimum > room && room - tablePages(room) >= pages) minimum = room;
  if (minimum > room) return false;
  // Grow by at least a quarter of what is mapped (whole segments): fewer, larger arenas.
  const wanted = exact ? minimum : Math.max(minimum, Math.ceil((mapped >>> 2) / segPages) * segPages);
  let arena = Math.min(room, wanted);
  const before = rg.memory.byteLength;
  const startPage = rg.firstPage + mapped;
  if (!rg.memory.growTo((startPage + arena) * Page.SIZE)) {
    arena = minimum;
    if (!rg.memory.growTo((startPage + arena) * Page.SIZE)) return false;
  }
  rg.refreshViews();
  const i32 = rg.i32;
  if (rg.memory.byteLength !== before) i32[rg.hdr + H.GROWTHS] += 1;
  // The arena's table in its first pages; entry k describes page startPage + k.
  const table = (startPage * Page.SIZE) >>> 2;
  const meta = tablePages(arena);
  const bias = table - (startPage << Entry.SHIFT);
  i32.fill(0, table, table + (arena + 1) * Entry.WORDS);
  for (let k = 0; k < meta; k++) i32[table + k * Entry.WORDS + PG.HEAD] = table;
  i32[table + PG.CLASS] = Kind.META;
  i32[table + PG.PAGES] = meta;
  i32[table + PG.START] = (startPage * Page.SIZE) | 0;
  const sentinel = table + arena * Entry.WORDS;
  i32[sentinel + PG.HEAD] = sentinel;
  i32[sentinel + PG.CLASS] = Kind.META;
  i32[sentinel + PG.PAGES] = 1;
  i32[sentinel + PG.START] = ((startPage + arena) * Page.SIZE) | 0;
  const free = table + meta * Entry.WORDS;
  for (let k = meta; k < arena; k++) i32[table + k * Entry.WORDS + PG.HEAD] = free;
  i32[free + PG.CLASS] = Kind.FREE;
  i32[free + PG.PAGES] = arena - meta;
  for (let s = mapped >>> rg.segmentPageShift; s < (mapped + arena + segPages - 1) >>> rg.segmentPageShift; s++) i32[rg.dirWord + s] = bias;
  // Complete before it is published: a worker terminated in between leaves either no new pages or
  // an arena that repairSpans reads right.
  Atomics.store(i32, rg.hdr + H.MAPPED_PAGES, mapped + arena);
  rg.mappedPages = mapped + arena;
  i32[rg.hdr + H.META_PAGES] += meta;
  insertFree(rg, free, arena - meta, (startPage + meta) * Page.SIZE);
  return true;
}
