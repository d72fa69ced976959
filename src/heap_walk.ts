/**
 * heap walk — every live block of a heap, for leak reports, debuggers and tests. Behind
 * {@link Heap.walk}.
 *
 * Basic design: under the heap lock, walk the spans by PG.PAGES; a large block is one live
 * block; in a small page the live blocks are those below PG.RESERVED that are on neither its free
 * list nor its thread-free list nor in its owner's thread cache (marked in a scratch bitmap per
 * page). The blocks are collected
 * into arrays first and the visitor is called after the lock is released, so that it may call
 * stats(), check() or walk() itself (but it must not allocate or free in the heap it walks: the
 * collected blocks would go stale).
 *
 * Invariants: reads only. Robust against a corrupt heap in the sense that it never follows an
 * entry or a pointer outside what it checked (a bad span length ends the walk, a bad list link
 * ends that list; blocks past the cut may then be reported live); check() says what is wrong.
 * Exact when no other worker is allocating or freeing meanwhile.
 */

import { CHECK_OVERHEAD, decodeSize, trailerWord } from "./checked_blocks.js";
import { H, Kind, PG, Page } from "./layout.js";
import { unlock } from "./lock.js";
import type { Region } from "./region.js";
import { CLASS_CAPACITY, CLASS_SIZE, NUM_CLASSES, blockIndex, spanCapacity } from "./size_classes.js";
import { lockForWalk } from "./heap_check.js";
import { forEachCached } from "./thread_cache.js";

/** One live block, as {@link Heap.walk} reports it. */
export interface BlockInfo {
  /** The block's pointer (byte offset into the buffer). */
  ptr: number;
  /**
   * Its size: in checked mode the size it was asked for (decoded from its trailer; the usable size
   * less the check overhead when the trailer is damaged), else its usable size.
   */
  size: number;
  /** Block size of its size class, or 0 for a large block (a run of whole pages). */
  classSize: number;
  /** Thread id of the worker owning its page; 0 for a large block or an abandoned page. */
  owner: number;
  /** Usable bytes of the block: the class size, or its pages × 8 KiB for a large block. */
  usable: number;
}

let scratch = new Uint8Array(0);

/** Collects the live blocks of the region (under the lock), then calls `visit` for each, in address order. */
export function walkRegion(rg: Region, checked: boolean, visit: (b: BlockInfo) => void): void {
  const ptrs: number[] = [];
  const sizes: number[] = [];
  const classSizes: number[] = [];
  const owners: number[] = [];
  const usables: number[] = [];
  const locked = lockForWalk(rg, () => {});
  try {
    const i32 = rg.i32;
    const cached = new Map<number, number[]>();
    forEachCached(rg, (_tid, _cls, b, e) => {
      const list = cached.get(e);
      if (list === undefined) cached.set(e, [b]);
      else list.push(b);
    });
    const mapped = Math.max(0, Math.min(Atomics.load(i32, rg.hdr + H.MAPPED_PAGES), rg.maxPages, Math.floor(rg.u8.length / Page.SIZE) - rg.firstPage));
    const sizeOf = (p: number, usable: number): number => {
      if (!checked) return usable;
      const n = decodeSize(p, i32[trailerWord(p, usable)]!);
      return n <= usable - CHECK_OVERHEAD ? n : usable - CHECK_OVERHEAD;
    };
    for (let r = 0; r < mapped; ) {
      const e = rg.entryOfPage(r);
      const cls = i32[e + PG.CLASS]!;
      const n = i32[e + PG.PAGES]!;
      if (!(n >= 1 && r + n <= mapped)) break;
      const start = (rg.firstPage + r) * Page.SIZE;
      if (cls === Kind.LARGE) {
        const usable = n * Page.SIZE;
        ptrs.push(start);
        sizes.push(sizeOf(start, usable));
        classSizes.push(0);
        owners.push(0);
        usables.push(usable);
      } else if (cls >= 0 && cls < NUM_CLASSES) {
        const size = CLASS_SIZE[cls]!;
        const capacity = Math.min(CLASS_CAPACITY[cls]!, spanCapacity(cls, n));
        const reserved = Math.max(0, Math.min(capacity, i32[e + PG.RESERVED]!));
        if (scratch.length < capacity) scratch = new Uint8Array(Math.max(capacity, ...CLASS_CAPACITY));
        const seen = scratch;
        seen.fill(0, 0, capacity);
        const bytes = n * Page.SIZE;
        for (const head of [i32[e + PG.FREE]!, Atomics.load(i32, e + PG.THREAD_FREE)]) {
          for (let b = head >>> 0; b !== 0; b = i32[b >>> 2]! >>> 0) {
            const offset = b - start;
            if (offset < 0 || offset >= bytes) break;
            const idx = blockIndex(cls, offset);
            if (idx >= reserved || seen[idx] !== 0) break;
            seen[idx] = 1;
          }
        }
        for (const b of cached.get(e) ?? []) seen[blockIndex(cls, b - start)] = 1;
        const owner = Atomics.load(i32, e + PG.OWNER);
        for (let i = 0; i < reserved; i++) {
          if (seen[i] !== 0) continue;
          const p = start + i * size;
          ptrs.push(p);
          sizes.push(sizeOf(p, size));
          classSizes.push(size);
          owners.push(owner);
          usables.push(size);
        }
      }
      r += n;
    }
  } finally {
    if (locked) unlock(rg.i32, rg.hdr + H.LOCK);
  }
  for (let k = 0; k < ptrs.length; k++) {
    visit({ ptr: ptrs[k]!, size: sizes[k]!, classSize: classSizes[k]!, owner: owners[k]!, usable: usables[k]! });
  }
}
