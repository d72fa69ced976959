/**
 * pages — a small page: a span serving blocks of one size class to the worker that owns it.
 *
 * Basic design (mimalloc's free-list sharding): a page has two lists of free blocks, each a
 * singly linked list threaded through the first word of the free blocks themselves:
 * - PG.FREE, which the owner's thread cache refills from and drains into (thread_cache.ts), with
 *   plain stores;
 * - PG.THREAD_FREE, pushed by other workers with Atomics.compareExchange and taken whole by the
 *   owner (Atomics.compareExchange, once it has counted it) when PG.FREE runs dry.
 * Blocks are carved lazily: PG.RESERVED counts the blocks ever linked into a list, and when both
 * lists are empty the owner links the next CLASS_EXTEND[class] blocks (the seed's batch refill).
 * Every free block — on either list, in a thread cache, or carved and never handed out — holds the
 * heap's free key in its word Block.KEY; malloc clears it (layout.ts H.FREE_KEY).
 *
 * Invariants:
 * - PG.USED = PG.RESERVED − (length of PG.FREE): blocks in the owner's thread cache and on
 *   PG.THREAD_FREE count as handed out until they come back to PG.FREE.
 * - Every block on either list is the start of a block of this page below PG.RESERVED, and
 *   appears once (and in no thread cache).
 * - Only the owner (PG.OWNER) reads or writes PG.FREE, PG.USED, PG.RESERVED, PG.NEXT, PG.PREV and
 *   PG.FLAGS; other workers touch only PG.THREAD_FREE.
 */

import { Block, PG, Tag } from "./layout.js";
import type { Region } from "./region.js";
import { CLASS_CAPACITY, CLASS_EXTEND, CLASS_INV, CLASS_SHIFT, CLASS_SIZE, blockIndex, spanCapacity } from "./size_classes.js";

/** PG.TAG of a page of class `cls` owned by the worker in thread slot number `slotNo`. */
export function ownerTag(slotNo: number, cls: number): number {
  return (slotNo << Tag.SLOT) | (CLASS_SHIFT[cls]! << Tag.SHIFT) | cls;
}

/**
 * Prepares the freshly acquired span at `e` (`pages` pages) to serve class `cls` for thread
 * `tid`, in thread slot number `slotNo`.
 */
export function initPage(i32: Int32Array, e: number, cls: number, tid: number, slotNo: number, pages: number): void {
  i32[e + PG.FREE] = 0;
  i32[e + PG.USED] = 0;
  i32[e + PG.RESERVED] = 0;
  i32[e + PG.CAPACITY] = spanCapacity(cls, pages);
  Atomics.store(i32, e + PG.THREAD_FREE, 0);
  i32[e + PG.OWNER] = tid;
  i32[e + PG.NEXT] = 0;
  i32[e + PG.PREV] = 0;
  i32[e + PG.FLAGS] = 0;
  i32[e + PG.INV] = CLASS_INV[cls]!;
  i32[e + PG.SHIFT] = CLASS_SHIFT[cls]!;
  i32[e + PG.TAG] = ownerTag(slotNo, cls);
}

/**
 * Links the next batch of never-used blocks of the page at `e` (class `cls`) into its empty
 * free list, each marked free with `key`. Returns how many blocks it linked (0 when the page is
 * fully carved).
 */
export function extendPage(i32: Int32Array, e: number, cls: number, key: number): number {
  const reserved = i32[e + PG.RESERVED]!;
  const n = Math.min(CLASS_EXTEND[cls]!, i32[e + PG.CAPACITY]! - reserved);
  if (n <= 0) return 0;
  const size = CLASS_SIZE[cls]!;
  const first = (i32[e + PG.START]! + reserved * size) | 0;
  let b = first;
  for (let i = 1; i < n; i++) {
    const next = (b + size) | 0;
    i32[b >>> 2] = next;
    i32[(b >>> 2) + Block.KEY] = key;
    b = next;
  }
  i32[b >>> 2] = i32[e + PG.FREE]!;
  i32[(b >>> 2) + Block.KEY] = key;
  i32[e + PG.FREE] = first;
  i32[e + PG.RESERVED] = reserved + n;
  return n;
}

/**
 * Moves the blocks other workers freed into the page's own free list. Returns how many it
 * moved. Owner only.
 *
 * The list is counted while it is still in place (others only push onto its head, so the links
 * below a head once seen stay as they are), then taken with one compareExchange — again if a
 * push came in between — and spliced in straight-line code. A worker terminated anywhere in here
 * (V8 stops one at a call or a loop's back edge) leaves every block on exactly one list: taking
 * the list first and counting after lost it whole when the worker was stopped in the count
 * (found by the default-mode fuzz: a block freed by another worker, later seen live by walk()).
 */
export function collectThreadFree(i32: Int32Array, e: number): number {
  for (;;) {
    const list = Atomics.load(i32, e + PG.THREAD_FREE);
    if (list === 0) return 0;
    let n = 1;
    let tail = list;
    for (let next = i32[tail >>> 2]!; next !== 0; next = i32[tail >>> 2]!) {
      tail = next;
      n++;
    }
    if (Atomics.compareExchange(i32, e + PG.THREAD_FREE, list, 0) !== list) continue;
    i32[tail >>> 2] = i32[e + PG.FREE]!;
    i32[e + PG.FREE] = list;
    i32[e + PG.USED] = i32[e + PG.USED]! - n;
    return n;
  }
}

/**
 * Marks block `p` of the page at `e` free with `key` and pushes it onto the page's thread-free
 * list, from any worker. Returns false, changing nothing, when the block already carries the key
 * (or it changed under us): a double free, for the caller to confirm.
 */
export function pushThreadFree(i32: Int32Array, e: number, p: number, key: number): boolean {
  const k = (p >>> 2) + Block.KEY;
  const was = Atomics.load(i32, k);
  if (was === key || Atomics.compareExchange(i32, k, was, key) !== was) return false;
  const slot = e + PG.THREAD_FREE;
  let head = Atomics.load(i32, slot);
  for (;;) {
    Atomics.store(i32, p >>> 2, head);
    const seen = Atomics.compareExchange(i32, slot, head, p | 0);
    if (seen === head) return true;
    head = seen;
  }
}

/**
 * Puts page `e`, whose owner is leaving it, in the abandoned list of its class: ownerless, its
 * blocks freed into its thread-free list by anyone, until a worker adopts it.
 */
export function abandonPage(rg: Region, e: number): void {
  rg.lock();
  try {
    const i32 = rg.i32; // after lock(), which takes in growth by others: e may lie in their arenas
    Atomics.store(i32, e + PG.TAG, 0);
    Atomics.store(i32, e + PG.OWNER, 0);
    const head = rg.abandonedWord + i32[e + PG.CLASS]!;
    i32[e + PG.PREV] = 0;
    i32[e + PG.NEXT] = i32[head]!;
    i32[head] = e;
  } finally {
    rg.unlock();
  }
}

/**
 * Takes a page of class `cls` from the abandoned list for this region's worker (rg.tid, in slot
 * number rg.slotNo); 0 when there is none.
 */
export function adoptAbandoned(rg: Region, cls: number): number {
  const head = rg.abandonedWord + cls;
  if (Atomics.load(rg.i32, head) === 0) return 0;
  rg.lock();
  try {
    const i32 = rg.i32; // after lock(): the listed pages may lie in arenas others mapped
    const e = i32[head]!;
    if (e === 0) return 0;
    i32[head] = i32[e + PG.NEXT]!;
    i32[e + PG.NEXT] = 0;
    i32[e + PG.FLAGS] = 0;
    Atomics.store(i32, e + PG.OWNER, rg.tid);
    Atomics.store(i32, e + PG.TAG, ownerTag(rg.slotNo, cls));
    return e;
  } finally {
    rg.unlock();
  }
}

/** Head entries of the small pages that thread `tid` owns. */
export function pagesOwnedBy(rg: Region, tid: number): number[] {
  const pages: number[] = [];
  rg.lock();
  try {
    const i32 = rg.i32; // after lock(), which takes in growth by others
    for (let r = 0; r < rg.mappedPages; ) {
      const e = rg.entryOfPage(r);
      if (i32[e + PG.CLASS]! >= 0 && Atomics.load(i32, e + PG.OWNER) === tid) pages.push(e);
      r += Math.max(1, i32[e + PG.PAGES]!);
    }
  } finally {
    rg.unlock();
  }
  return pages;
}

/**
 * Blocks handed out from the small page at `e` (class `cls`) and not back: PG.USED less the
 * blocks on its thread-free list. (Blocks in its owner's thread cache are among them; the caller
 * subtracts those.) The list is followed only while it names blocks of this page, so a damaged
 * list cannot run away.
 */
export function pageHandedOut(i32: Int32Array, e: number, cls: number): number {
  const capacity = Math.max(0, Math.min(CLASS_CAPACITY[cls]!, i32[e + PG.CAPACITY]!));
  const start = i32[e + PG.START]! >>> 0;
  let remote = 0;
  for (let b = Atomics.load(i32, e + PG.THREAD_FREE) >>> 0; b !== 0 && remote < capacity; b = i32[b >>> 2]! >>> 0) {
    if (b < start || blockIndex(cls, b - start) >= capacity) break;
    remote++;
  }
  return Math.max(0, Math.min(capacity, i32[e + PG.USED]! - remote));
}

/**
 * Puts block `b` of the owner's page `e` back on its free list (the block keeps its free key).
 * Returns the page's PG.USED after. Owner only.
 */
export function returnBlock(i32: Int32Array, e: number, b: number): number {
  i32[b >>> 2] = i32[e + PG.FREE]!;
  i32[e + PG.FREE] = b;
  const used = i32[e + PG.USED]! - 1;
  i32[e + PG.USED] = used;
  return used;
}

/** True when the list from `head` (linked through word 0) holds `p` within its first `limit` blocks. */
export function listHolds(i32: Int32Array, head: number, p: number, limit: number): boolean {
  let n = 0;
  for (let b = head >>> 0; b !== 0 && n < limit; b = i32[b >>> 2]! >>> 0, n++) {
    if (b === p) return true;
  }
  return false;
}
