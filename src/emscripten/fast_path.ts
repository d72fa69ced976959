/**
 * emscripten/fast_path — the thread cache's fast paths compiled into the module, for
 * emscripten/hakmem_malloc.c.
 *
 * Basic design: every call from wasm into JS costs about as much as dlmalloc's whole malloc +
 * free (docs/DESIGN.md, "The crossing"), so malloc and free in C first try what Heap.malloc and
 * Heap.free try first, over the same words of the buffer: pop the calling thread's cache list of
 * the size's class; push a block of one of the thread's own pages after the same tests (in the
 * heap's range, a small page this thread owns, a block start, not carrying the free key). Any
 * other case, and every call until the thread's heap exists, goes to JS as before. C and JS
 * never run at once on one thread, and other threads never touch a thread's cache lists, so the
 * two sides share them without atomics, as Heap's own fast paths do.
 *
 * The C side learns where the lists are from `fastPathSetup`, which writes FAST_WORDS words into a
 * struct in its thread-local storage; its constants come from FAST_PATH_CONSTANTS, which
 * scripts/build_emscripten.mjs writes into hakmem_layout.h (the layout's numbers stay in
 * layout.ts). The C side passes the layout version it was compiled with; another version, a
 * checked heap or a traced one gets no fast path (word 0 stays 0).
 *
 * Invariants: the words describe the calling thread's Heap and stay true while it lives (the
 * heap's thread slot, class table, segment directory and free key never move); a pthread's
 * thread-local storage dies with the thread, and its worker's next thread asks again.
 */

import type { Heap } from "../heap.js";
import { Block, Entry, LAYOUT_VERSION, PG, Page, TC, Tag } from "../layout.js";
import { MID_MAX } from "../size_classes.js";

/** The numbers hakmem_malloc.c is compiled with (as `#define HAKMEM_<name> <value>`). */
export const FAST_PATH_CONSTANTS: Readonly<Record<string, number>> = {
  LAYOUT_VERSION,
  PAGE_SHIFT: Page.SHIFT,
  PAGE_START_SHIFT: Page.START_SHIFT,
  ENTRY_SHIFT: Entry.SHIFT,
  PG_TAG: PG.TAG,
  PG_INV: PG.INV,
  PG_RESERVED: PG.RESERVED,
  TAG_SLOT: Tag.SLOT,
  TAG_SHIFT: Tag.SHIFT,
  TAG_SHIFT_MASK: Tag.SHIFT_MASK,
  TAG_CLASS_MASK: Tag.CLASS_MASK,
  TC_WORDS: TC.WORDS,
  TC_HEAD: TC.HEAD,
  TC_ROOM: TC.ROOM,
  BLOCK_KEY: Block.KEY,
  MID_MAX,
};

/**
 * Words of the C side's struct, in order (word indices are byte offsets / 4 into the Memory):
 * the word of class 0's cache list, the class table's word, the segment directory's word, the
 * first data byte, the segment shift, the thread's slot number, the free key, the word of the
 * header's mapped page count.
 */
export const FAST_WORDS = 8;

/**
 * Fills the struct at byte `at` for the calling thread's `heap` and returns 1, or leaves it
 * zeroed and returns 0 when the fast path must not run: a checked or traced heap (whose calls
 * JS must see), or C compiled for another layout `version`.
 */
export function fastPathSetup(heap: Heap, at: number, version: number): number {
  const words = heap.fastPathWords();
  const struct = new Int32Array(heap.buffer, at, FAST_WORDS);
  struct.fill(0);
  if (words === null || version !== LAYOUT_VERSION) return 0;
  for (let k = FAST_WORDS - 1; k >= 0; k--) struct[k] = words[k]!; // word 0, the switch, last
  return 1;
}
