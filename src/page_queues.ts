/**
 * page queues — the pages one worker owns, per size class: a queue of pages that can serve
 * blocks, and a list of full pages.
 *
 * Basic design: both are doubly linked through the pages' PG.NEXT / PG.PREV (0 ends a list).
 * The queue's first page is the worker's current page of the class, kept in the worker's thread
 * slot (T.CURRENT) so that check() can follow every worker's queues. Queue tails and full-list
 * heads live here, in the worker's own memory: only the slow paths need them.
 *
 * Invariants:
 * - Every small page a worker owns is in exactly one of its lists: the queue of its class, or,
 *   flagged PF.FULL, the full list of its class.
 * - The thread slot's current page of class c is the queue's first page, or the null entry.
 * - Only the owning worker touches these lists and links.
 */

import { PF, PG } from "./layout.js";
import { NUM_CLASSES } from "./size_classes.js";

export class PageQueues {
  private readonly currentWord: number;
  private readonly nullEntry: number;
  private readonly last = new Int32Array(NUM_CLASSES);
  private readonly full = new Int32Array(NUM_CLASSES);

  constructor(currentWord: number, nullEntry: number) {
    this.currentWord = currentWord;
    this.nullEntry = nullEntry;
  }

  /** The current page of `cls`: the first of its queue, or the null entry. */
  current(i32: Int32Array, cls: number): number {
    return i32[this.currentWord + cls]!;
  }

  /** First page of the full list of `cls`, or 0. */
  firstFull(cls: number): number {
    return this.full[cls]!;
  }

  /** Makes `e` the current page of `cls`. */
  private setCurrent(i32: Int32Array, cls: number, e: number): void {
    i32[this.currentWord + cls] = e;
  }

  /** Queues `e` first: it becomes the current page. */
  pushFront(i32: Int32Array, e: number, cls: number): void {
    const first = i32[this.currentWord + cls]!;
    i32[e + PG.PREV] = 0;
    if (first === this.nullEntry) {
      i32[e + PG.NEXT] = 0;
      this.last[cls] = e;
    } else {
      i32[e + PG.NEXT] = first;
      i32[first + PG.PREV] = e;
    }
    this.setCurrent(i32, cls, e);
  }

  /**
   * Queues `e` last: a page that regained blocks serves again only after the pages ahead of it,
   * by which time more of its blocks have come back (fewer trips through the slow path).
   */
  pushBack(i32: Int32Array, e: number, cls: number): void {
    const last = this.last[cls]!;
    if (last === 0) {
      this.pushFront(i32, e, cls);
      return;
    }
    i32[e + PG.PREV] = last;
    i32[e + PG.NEXT] = 0;
    i32[last + PG.NEXT] = e;
    this.last[cls] = e;
  }

  /** Takes `e` out of the queue of `cls`. */
  remove(i32: Int32Array, e: number, cls: number): void {
    const prev = i32[e + PG.PREV]!;
    const next = i32[e + PG.NEXT]!;
    if (prev !== 0) i32[prev + PG.NEXT] = next;
    else this.setCurrent(i32, cls, next === 0 ? this.nullEntry : next);
    if (next !== 0) i32[next + PG.PREV] = prev;
    else this.last[cls] = prev;
    i32[e + PG.NEXT] = 0;
    i32[e + PG.PREV] = 0;
  }

  /** Flags `e` full and puts it in the full list of `cls` (it is in no queue). */
  pushFull(i32: Int32Array, e: number, cls: number): void {
    i32[e + PG.FLAGS] = i32[e + PG.FLAGS]! | PF.FULL;
    const first = this.full[cls]!;
    i32[e + PG.PREV] = 0;
    i32[e + PG.NEXT] = first;
    if (first !== 0) i32[first + PG.PREV] = e;
    this.full[cls] = e;
  }

  /** Takes `e` out of the full list of `cls` and clears its flag. */
  removeFull(i32: Int32Array, e: number, cls: number): void {
    i32[e + PG.FLAGS] = i32[e + PG.FLAGS]! & ~PF.FULL;
    const prev = i32[e + PG.PREV]!;
    const next = i32[e + PG.NEXT]!;
    if (prev !== 0) i32[prev + PG.NEXT] = next;
    else this.full[cls] = next;
    if (next !== 0) i32[next + PG.PREV] = prev;
    i32[e + PG.NEXT] = 0;
    i32[e + PG.PREV] = 0;
  }

  /** Calls `visit` for every page in every list (the visitor may unlink the page it is given). */
  forEach(i32: Int32Array, visit: (e: number, cls: number) => void): void {
    for (let cls = 0; cls < NUM_CLASSES; cls++) {
      for (let e = this.current(i32, cls); e !== this.nullEntry && e !== 0; ) {
        const next = i32[e + PG.NEXT]!;
        visit(e, cls);
        e = next;
      }
      for (let e = this.full[cls]!; e !== 0; ) {
        const next = i32[e + PG.NEXT]!;
        visit(e, cls);
        e = next;
      }
    }
  }

  /** Forgets every page (after a reset, or when the worker leaves). */
  clear(i32: Int32Array): void {
    for (let cls = 0; cls < NUM_CLASSES; cls++) this.setCurrent(i32, cls, this.nullEntry);
    this.last.fill(0);
    this.full.fill(0);
  }
}
