/**
 * thread pages — the pages one worker owns, and the decisions about them: which page serves a
 * class next, when a full page serves again, when an empty page goes back to the heap, what
 * happens to them when the worker leaves.
 *
 * Basic design: per size class, a queue of pages that can serve blocks (its first page is the
 * class's current page) and a list of full pages (page_queues.ts). The worker's thread cache
 * (thread_cache.ts) refills from the current page and drains blocks back into their pages; this
 * module keeps the pages in the right list as blocks come and go:
 * - a page with nothing left to hand out (no free block, none from other workers, fully carved)
 *   moves to the full list, and rejoins its queue (last) once an eighth of its blocks came back,
 *   so that it then serves a run of refills;
 * - an empty page goes back to the span bins at once, current or not (the thread cache in front
 *   keeps a class whose live count hovers at a page boundary from giving a span back and taking
 *   it again in a loop, which a spare empty page per class did before the cache, at a cost of one
 *   idle page per class);
 * - when the queue is empty: a full page that other workers freed into, then an abandoned page of
 *   the class, then a new span.
 *
 * Invariants:
 * - Every small page this worker owns (PG.OWNER = its thread id) is in exactly one of its lists.
 * - A page in a queue has PF.FULL clear; a page in a full list has it set.
 * - Views: everything here reads `region.i32` afresh after any call that may grow the buffer, and
 *   syncs the region after taking a page that may lie in memory another worker's growth mapped.
 */

import { PF, PG, T } from "./layout.js";
import { markFree } from "./checked_blocks.js";
import { abandonPage, adoptAbandoned, collectThreadFree, extendPage, pagesOwnedBy } from "./pages.js";
import { PageQueues } from "./page_queues.js";
import type { Region } from "./region.js";
import { acquireSpan, releaseSpan } from "./segments.js";
import { CLASS_FIRST_PAGES, CLASS_SIZE, CLASS_SPAN_PAGES, NUM_CLASSES } from "./size_classes.js";

export class ThreadPages {
  readonly queues: PageQueues;
  /** Per class, the pages this worker owns: the next span it takes is longer the more it has. */
  private readonly owned = new Int32Array(NUM_CLASSES);
  private readonly nullEntry: number;

  constructor(
    private readonly rg: Region,
    slot: number,
    /** The heap's free key, which carved blocks get (H.FREE_KEY). */
    private readonly key: number,
    /** Checked mode: carved blocks get the checked free pattern too (complete or fast). */
    private readonly checked: boolean,
    private readonly checkAll: boolean,
  ) {
    this.nullEntry = rg.nullEntry;
    this.queues = new PageQueues(slot + T.CURRENT, rg.nullEntry);
  }

  /**
   * The current page of `cls`, made to have blocks on its free list: blocks other workers freed
   * into it, or newly carved ones; pages with none left move to the full list, and the next page
   * serves. Returns 0 when the heap cannot provide a page (exhausted).
   */
  pageWithFree(cls: number): number {
    const q = this.queues;
    for (;;) {
      let i32 = this.rg.i32;
      let e = q.current(i32, cls);
      if (e === this.nullEntry) {
        e = this.findPage(cls);
        if (e === 0) return 0;
        i32 = this.rg.i32;
      }
      if (i32[e + PG.FREE] !== 0 || collectThreadFree(i32, e) !== 0) return e;
      if (extendPage(i32, e, cls, this.key) !== 0) {
        // Fresh blocks look freed in checked mode, so that every reuse can be verified alike.
        if (this.checked) {
          for (let b = i32[e + PG.FREE]!; b !== 0; b = i32[b >>> 2]!) markFree(i32, b >>> 0, CLASS_SIZE[cls]!, this.checkAll);
        }
        return e;
      }
      q.remove(i32, e, cls);
      q.pushFull(i32, e, cls);
    }
  }

  /**
   * Blocks of this worker's page `e` (class `cls`) came back to its free list and PG.USED is now
   * `used`: a full page with an eighth of its blocks back rejoins its queue; an empty page goes
   * back to the heap.
   */
  settle(e: number, cls: number, used: number): void {
    const i32 = this.rg.i32;
    if ((i32[e + PG.FLAGS]! & PF.FULL) !== 0) {
      const capacity = i32[e + PG.CAPACITY]!;
      if (used > capacity - Math.max(1, capacity >>> 3)) return;
      this.queues.removeFull(i32, e, cls);
      this.queues.pushBack(i32, e, cls);
    }
    if (used === 0) {
      this.queues.remove(i32, e, cls);
      this.release(e, cls);
    }
  }

  /**
   * Returns to the heap every page of this worker with no block handed out (after collecting what
   * other workers freed into them), current ones included. Returns how many.
   */
  releaseEmpty(): number {
    let released = 0;
    const q = this.queues;
    q.forEach(this.rg.i32, (e, cls) => {
      const i32 = this.rg.i32;
      collectThreadFree(i32, e);
      const full = (i32[e + PG.FLAGS]! & PF.FULL) !== 0;
      if (i32[e + PG.USED] !== 0) {
        // A full page that got blocks back through collecting serves again.
        if (full && i32[e + PG.FREE] !== 0) {
          q.removeFull(i32, e, cls);
          q.pushBack(i32, e, cls);
        }
        return;
      }
      if (full) q.removeFull(i32, e, cls);
      else q.remove(i32, e, cls);
      this.release(e, cls);
      released++;
    });
    return released;
  }

  /**
   * Adopts every abandoned page, returns the empty ones to the heap and abandons the others again.
   * Returns how many it released. When the heap lock cannot be had (lock.ts: a thread that cannot
   * wait gives up), the pages adopted and not yet given back serve from this worker's queues.
   */
  releaseAbandonedEmpty(): number {
    let released = 0;
    const keep: number[] = [];
    try {
      for (let cls = 0; cls < NUM_CLASSES; cls++) {
        for (let e = adoptAbandoned(this.rg, cls); e !== 0; e = adoptAbandoned(this.rg, cls)) {
          this.owned[cls]!++;
          collectThreadFree(this.rg.i32, e);
          if (this.rg.i32[e + PG.USED] === 0) {
            this.release(e, cls);
            released++;
          } else {
            keep.push(e);
          }
        }
      }
      while (keep.length > 0) {
        const e = keep[keep.length - 1]!;
        abandonPage(this.rg, e); // throws before any change when the lock cannot be had
        keep.pop();
        this.owned[this.rg.i32[e + PG.CLASS]!]!--;
      }
    } catch (err) {
      for (const e of keep) this.queues.pushBack(this.rg.i32, e, this.rg.i32[e + PG.CLASS]!);
      throw err;
    }
    return released;
  }

  /**
   * Gives up every page: empty ones go back to the heap, the others to the abandoned lists, where
   * other workers adopt them. (The thread cache must have been flushed into them first.) Each page
   * leaves its list before it is given up, and goes back to its queue if the heap lock cannot be
   * had, so that a call again after such an error finds every page it still owns, and only those.
   */
  abandonAll(): void {
    const q = this.queues;
    q.forEach(this.rg.i32, (e, cls) => {
      const i32 = this.rg.i32;
      if ((i32[e + PG.FLAGS]! & PF.FULL) !== 0) q.removeFull(i32, e, cls);
      else q.remove(i32, e, cls);
      this.abandon(e, cls);
    });
    q.clear(this.rg.i32);
    this.owned.fill(0);
  }

  /** Forgets every page (after a reset of the whole heap). */
  forgetAll(): void {
    this.queues.clear(this.rg.i32);
    this.owned.fill(0);
  }

  /**
   * Abandons the pages of thread `tid`, which has ended (reclaimThread), after its thread cache was
   * returned into them. Returns how many pages it took over.
   */
  abandonThread(tid: number): number {
    const pages = pagesOwnedBy(this.rg, tid);
    for (const e of pages) this.abandon(e);
    return pages.length;
  }

  /**
   * The queue of `cls` is empty: finds a page with free blocks and queues it first. Returns its
   * entry, or 0 when the heap is exhausted.
   */
  private findPage(cls: number): number {
    const q = this.queues;
    let i32 = this.rg.i32;
    // Full pages that other workers freed into (this is how an owner with only full pages learns
    // of remote frees): collecting makes them non-full.
    for (let e = q.firstFull(cls); e !== 0; e = i32[e + PG.NEXT]!) {
      if (Atomics.load(i32, e + PG.THREAD_FREE) !== 0) {
        q.removeFull(i32, e, cls);
        collectThreadFree(i32, e);
        q.pushFront(i32, e, cls);
        return e;
      }
    }
    for (let adopted = adoptAbandoned(this.rg, cls); adopted !== 0; adopted = adoptAbandoned(this.rg, cls)) {
      i32 = this.rg.i32; // adoptAbandoned took the lock, which took in growth by others
      collectThreadFree(i32, adopted);
      this.owned[cls]!++;
      if (i32[adopted + PG.USED] !== 0) {
        q.pushFront(i32, adopted, cls);
        return adopted;
      }
      this.release(adopted, cls);
    }
    // The seed's growing arenas: a class's first span is short, each next one twice as long.
    const pages = Math.min(CLASS_SPAN_PAGES[cls]!, CLASS_FIRST_PAGES[cls]! << Math.min(this.owned[cls]!, 7));
    // Short of room for that, a span as short as the class allows, before the buffer grows.
    const shortest = CLASS_FIRST_PAGES[cls]!;
    let e = acquireSpan(this.rg, pages, cls, 1, false);
    if (e === 0 && pages > shortest) e = acquireSpan(this.rg, shortest, cls, 1, false);
    if (e === 0) e = acquireSpan(this.rg, pages, cls);
    if (e === 0 && pages > shortest) e = acquireSpan(this.rg, shortest, cls);
    i32 = this.rg.i32; // acquireSpan took the lock (and may have grown the buffer): views are current
    if (e === 0) {
      // Exhausted: a full page still waiting for an eighth of its blocks may have some back.
      for (let f = q.firstFull(cls); f !== 0; f = i32[f + PG.NEXT]!) {
        if (i32[f + PG.FREE] !== 0) {
          q.removeFull(i32, f, cls);
          q.pushFront(i32, f, cls);
          return f;
        }
      }
      return 0;
    }
    this.owned[cls]!++;
    q.pushFront(i32, e, cls);
    return e;
  }

  /**
   * Gives page `e` (owned, in no list, no block handed out) back to the span bins. When `cls` is
   * given and the heap lock cannot be had (lock.ts: a thread that cannot wait gives up), the page
   * goes back to the end of its queue before the error goes on, so that the lists stay whole.
   */
  private release(e: number, cls = -1): void {
    const mine = Atomics.load(this.rg.i32, e + PG.OWNER) === this.rg.tid;
    const c = this.rg.i32[e + PG.CLASS]!;
    try {
      releaseSpan(this.rg, e);
    } catch (err) {
      if (cls >= 0) this.queues.pushBack(this.rg.i32, e, cls);
      throw err;
    }
    if (mine) this.owned[c]!--;
  }

  /**
   * Leaves page `e` (out of any list) to whoever needs a page of its class next: an empty page goes
   * back to the bins; any other becomes ownerless in the abandoned list, and its blocks are freed
   * into its thread-free list meanwhile. When `cls` is given and the heap lock cannot be had, the
   * page goes back to the end of its queue before the error goes on, as in release().
   */
  private abandon(e: number, cls = -1): void {
    const i32 = this.rg.i32;
    collectThreadFree(i32, e);
    i32[e + PG.FLAGS] = 0;
    if (i32[e + PG.USED] === 0) {
      this.release(e, cls);
      return;
    }
    try {
      abandonPage(this.rg, e);
    } catch (err) {
      if (cls >= 0) this.queues.pushBack(this.rg.i32, e, cls);
      throw err;
    }
  }
}
