/**
 * thread cache — a worker's free blocks kept at hand: one LIFO list per size class, in its thread
 * slot (the seed's thread-local free lists, with batch refill and drain).
 *
 * Basic design: two words per class in the slot (layout.ts T.CACHE, TC): the list's head and its
 * room (cap less length). malloc pops the head and free of a block of the worker's own page pushes
 * it: both written out inline in heap.ts, the fast paths. This module holds their slow paths:
 * - refill (malloc found the list empty): one splice of up to CLASS_REFILL blocks from the free
 *   list of the class's current page (thread_pages.ts finds or makes one), one of them returned;
 * - drain (a push found no room): the older half of the list goes back to its pages, a run of
 *   blocks of one page at a time (ThreadPages.settle moves a page where it now belongs);
 * - flush: the whole list back (dispose, collect), and the same for the slot of a worker that has
 *   ended (reclaimThread).
 * A page's PG.USED counts its blocks in the cache as handed out, so the fast paths never touch a
 * page entry's counters: they are settled per refill and per block drained.
 * Bounds (size_classes.ts): CLASS_CACHE_CAP blocks per class, CACHE_WORKER_BYTES per worker.
 *
 * Invariants:
 * - Every block in the cache of worker W, class c, is a carved block of a small page of class c
 *   that W owns; it appears once, on no page list and in no other cache, and holds the heap's
 *   free key in its word Block.KEY.
 * - ROOM = CLASS_CACHE_CAP[c] − length of the list, never negative; HEAD is 0 when it is empty.
 *   Both hold at every call, so that a slow path that throws (the heap lock could not be had)
 *   leaves the lists as check() expects them.
 * - Each change of a list is a few plain stores with no call or loop between them, and V8 stops a
 *   terminated worker only at function entries and loop back edges: a worker cut anywhere leaves
 *   its lists whole, and loses at most the block in flight (the one a refill hands out, or the one
 *   a drain makes room for).
 */

import { Block, PF, PG, Page, T, TC } from "./layout.js";
import { returnBlock } from "./pages.js";
import type { Region } from "./region.js";
import type { ThreadPages } from "./thread_pages.js";
import { CLASS_CACHE_CAP, CLASS_CAPACITY, CLASS_REFILL, NUM_CLASSES, blockIndex } from "./size_classes.js";

/** Word index of the thread cache of class `cls` in the slot at word `slot`. */
export function cacheWord(slot: number, cls: number): number {
  return slot + T.CACHE + cls * TC.WORDS;
}

/** Empties the caches of a newly claimed slot. */
export function initCache(i32: Int32Array, slot: number): void {
  for (let c = 0; c < NUM_CLASSES; c++) {
    const w = cacheWord(slot, c);
    i32[w + TC.HEAD] = 0;
    i32[w + TC.ROOM] = CLASS_CACHE_CAP[c]!;
  }
}

/**
 * Blocks in the list from `head` of class `cls`, counted while they are carved blocks of pages of
 * that class and no further than its cap.
 */
function listLength(rg: Region, head: number, cls: number): number {
  let n = 0;
  for (let b = head >>> 0; b !== 0 && n < CLASS_CACHE_CAP[cls]! && blockOfClass(rg, b, cls) !== 0; b = rg.i32[b >>> 2]! >>> 0) n++;
  return n;
}

export class ThreadCache {
  constructor(
    private readonly rg: Region,
    private readonly slot: number,
    private readonly pages: ThreadPages,
    /** The heap's free key (H.FREE_KEY), which every cached block holds. */
    private readonly key: number,
  ) {}

  /**
   * The list of `cls` is empty: moves up to CLASS_REFILL blocks from a page into it and returns one
   * of them (its free key still set: the caller hands it out), or 0 when the heap is exhausted.
   */
  refill(cls: number): number {
    const e = this.pages.pageWithFree(cls);
    if (e === 0) return 0;
    const i32 = this.rg.i32;
    const first = i32[e + PG.FREE]!;
    let last = first;
    let n = 1;
    for (const want = CLASS_REFILL[cls]!; n < want; n++) {
      const next = i32[last >>> 2]!;
      if (next === 0) break;
      last = next;
    }
    // One splice: the page's list loses n blocks, the first is handed out, the rest are cached.
    const w = cacheWord(this.slot, cls);
    i32[e + PG.FREE] = i32[last >>> 2]!;
    i32[last >>> 2] = 0;
    i32[w + TC.HEAD] = i32[first >>> 2]!;
    i32[w + TC.ROOM] = CLASS_CACHE_CAP[cls]! - (n - 1);
    i32[e + PG.USED] = i32[e + PG.USED]! + n;
    return first >>> 0;
  }

  /** A push found no room in the list of `cls`: drains it to half its cap and pushes block `p`. */
  pushDraining(p: number, cls: number): void {
    const cap = CLASS_CACHE_CAP[cls]!;
    this.rg.i32[(p >>> 2) + Block.KEY] = this.key;
    const kept = this.drain(cls, cap >>> 1);
    const i32 = this.rg.i32;
    const w = cacheWord(this.slot, cls);
    i32[p >>> 2] = i32[w + TC.HEAD]!;
    i32[w + TC.HEAD] = p;
    i32[w + TC.ROOM] = cap - kept - 1;
  }

  /**
   * Returns the blocks of the list of `cls` past its first `keep` to their pages, and returns how
   * many are left. Blocks of one page that follow each other in the list go back as one run: one
   * splice onto the page's free list and one count.
   */
  drain(cls: number, keep: number): number {
    const i32 = this.rg.i32;
    const rg = this.rg;
    const w = cacheWord(this.slot, cls);
    // `at` is the word holding the link to the rest of the list: the head, or the last block kept.
    let at = w + TC.HEAD;
    let kept = 0;
    for (; kept < keep; kept++) {
      const b = i32[at]!;
      if (b === 0) break;
      at = b >>> 2;
    }
    for (let first = i32[at]!; first !== 0; first = i32[at]!) {
      const e = i32[rg.entryOf(first)]!;
      let last = first;
      let n = 1;
      for (let next = i32[last >>> 2]!; next !== 0 && i32[rg.entryOf(next)] === e; next = i32[last >>> 2]!) {
        last = next;
        n++;
      }
      // Off the list (its room counted) and onto the page in straight-line code: a worker cut
      // anywhere leaves both whole; settle() may then throw (the heap lock could not be had) and
      // leave the rest of the list as it is.
      i32[at] = i32[last >>> 2]!;
      i32[w + TC.ROOM] = i32[w + TC.ROOM]! + n;
      i32[last >>> 2] = i32[e + PG.FREE]!;
      i32[e + PG.FREE] = first;
      const used = i32[e + PG.USED]! - n;
      i32[e + PG.USED] = used;
      if (used === 0 || (i32[e + PG.FLAGS]! & PF.FULL) !== 0) this.pages.settle(e, cls, used);
    }
    return kept;
  }

  /** Returns every cached block to its page. */
  flush(): void {
    for (let c = 0; c < NUM_CLASSES; c++) this.drain(c, 0);
  }

  /**
   * Checked mode: true when the list of `cls` is empty or starts at a carved block of its class.
   * Otherwise (the link of the block just taken off it was overwritten) empties the list — the
   * blocks it held stay counted in use, withheld, never handed out — and returns false.
   */
  headIsBlock(cls: number): boolean {
    const w = cacheWord(this.slot, cls);
    const head = this.rg.i32[w + TC.HEAD]! >>> 0;
    if (head === 0 || blockOfClass(this.rg, head, cls) !== 0) return true;
    this.rg.i32[w + TC.HEAD] = 0;
    this.rg.i32[w + TC.ROOM] = CLASS_CACHE_CAP[cls]!;
    return false;
  }

  /** Blocks in the list of `cls`. */
  length(cls: number): number {
    return listLength(this.rg, this.rg.i32[cacheWord(this.slot, cls) + TC.HEAD]!, cls);
  }

  /** True when block `p` is in the list of `cls` (to confirm a double free). */
  holds(cls: number, p: number): boolean {
    const i32 = this.rg.i32;
    let n = 0;
    for (let b = i32[cacheWord(this.slot, cls) + TC.HEAD]! >>> 0; b !== 0 && n <= CLASS_CACHE_CAP[cls]!; b = i32[b >>> 2]! >>> 0, n++) {
      if (b === p) return true;
    }
    return false;
  }

}

/**
 * Calls `visit` for every block in the thread caches of the live slots, with the owner's thread
 * id, the class and the head entry of the block's page. Each list is followed while it names
 * carved blocks of small pages of its class, and no further than its cap, so a damaged list cannot
 * run away (check() reports it).
 */
export function forEachCached(rg: Region, visit: (tid: number, cls: number, b: number, e: number) => void): void {
  const slots = rg.occupiedSlots();
  const i32 = rg.i32; // after occupiedSlots, which may have refreshed the views
  for (const slot of slots) {
    const tid = Atomics.load(i32, slot + T.TID);
    for (let c = 0; c < NUM_CLASSES; c++) {
      let n = 0;
      for (let b = i32[cacheWord(slot, c) + TC.HEAD]! >>> 0; b !== 0 && n < CLASS_CACHE_CAP[c]!; n++) {
        const e = blockOfClass(rg, b, c);
        if (e === 0) break;
        visit(tid, c, b, e);
        b = i32[b >>> 2]! >>> 0;
      }
    }
  }
}

/** Blocks in thread caches, counted by the head entry of their page. */
export function cachedByPage(rg: Region): Map<number, number> {
  const counts = new Map<number, number>();
  forEachCached(rg, (_tid, _cls, _b, e) => counts.set(e, (counts.get(e) ?? 0) + 1));
  return counts;
}

/**
 * Head entry of the small page of class `cls` of which `b` is a carved block, or 0 when it is
 * not one (outside the mapped pages, another kind of span, not a block start, not carved).
 */
export function blockOfClass(rg: Region, b: number, cls: number): number {
  const i32 = rg.i32;
  const rel = (b >>> Page.SHIFT) - rg.firstPage;
  if (rel < 0 || rel >= rg.mappedPages) return 0;
  const e = i32[rg.entryOfPage(rel) + PG.HEAD]!;
  if (i32[e + PG.CLASS] !== cls) return 0;
  const offset = b - (i32[e + PG.START]! >>> 0);
  return offset >= 0 && blockIndex(cls, offset) < Math.min(CLASS_CAPACITY[cls]!, i32[e + PG.RESERVED]!) ? e : 0;
}

/**
 * Returns the cached blocks of the slot at word `slot` — a worker that has ended — to their pages,
 * and empties its caches. Only blocks of pages that worker still owns are taken; a list that leads
 * elsewhere is cut there (what it held is lost, never handed out twice).
 */
export function returnCacheOf(rg: Region, slot: number, tid: number): void {
  const i32 = rg.i32;
  for (let c = 0; c < NUM_CLASSES; c++) {
    const w = cacheWord(slot, c);
    let n = 0;
    for (let b = i32[w + TC.HEAD]! >>> 0; b !== 0 && n < CLASS_CACHE_CAP[c]!; n++) {
      const e = blockOfClass(rg, b, c);
      if (e === 0 || Atomics.load(i32, e + PG.OWNER) !== tid) break;
      const next = i32[b >>> 2]! >>> 0;
      returnBlock(i32, e, b);
      b = next;
    }
    i32[w + TC.HEAD] = 0;
    i32[w + TC.ROOM] = CLASS_CACHE_CAP[c]!;
  }
}
