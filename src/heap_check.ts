/**
 * heap check — a full consistency walk of a heap's region, for tests, fuzzers and a person
 * chasing a corruption. Behind {@link Heap.check}.
 *
 * Basic design: one pass over everything the region holds, under the heap lock, that reads and
 * never writes, and that treats every word as suspect: every entry it follows must be a page
 * entry of a mapped page, every pointer must lie in its page at a block start, every list walk is
 * bounded (by a per-page bitmap of the blocks seen, or by the number of pages), so a corrupt heap
 * gives a report and never an exception or an endless loop. It does not stop at the first
 * violation: each one becomes a {@link HeapProblem} with a short stable `kind` and a message
 * naming the page, the entry, the pointer (hex and decimal), the size class, what was expected
 * and what was found. Where one corruption would make a later test meaningless (a free list cut
 * by a bad link makes its length unknown), the later test is skipped rather than reported, so
 * that one injected fault gives one problem. A long report is cut by kind (CheckReport.problems
 * says how), so that thousands of one fault cannot push another kind out of it.
 *
 * What is checked, in order:
 * - header: magic, version, geometry words against the region's; the null entry is all zero;
 *   the size-class table; H.MAPPED_PAGES <= H.MAX_PAGES and within the buffer;
 * - spans: walking by PG.PAGES from page 0 tiles the mapped pages exactly; a span head has a known
 *   kind, PG.HEAD = itself and PG.START = its first byte; every page of a span in use has
 *   PG.HEAD = the head; a free span's last page carries Kind.FREE, its length and its head, and
 *   its other pages name some page entry in PG.HEAD; no two free spans touch; a small page spans
 *   CLASS_FIRST_PAGES[class] to CLASS_SPAN_PAGES[class] pages;
 * - bins: every free span is in bin binOf(length), bins hold only free span heads, PG.PREV
 *   mirrors PG.NEXT, no cycles;
 * - counters: H.PAGES_IN_USE is the sum of the spans in use, and at most H.PEAK_PAGES_IN_USE;
 * - small pages: PG.CAPACITY, PG.INV, PG.SHIFT match the class; PG.RESERVED <= capacity; flags;
 *   the free list and the thread-free list hold block starts below PG.RESERVED of this page,
 *   without cycles and without a block on both; PG.USED = PG.RESERVED − length of the free list
 *   (thread-free and cached blocks count as handed out);
 * - thread caches: each live thread's list of each class holds carved blocks of small pages of
 *   that class it owns, each once, on no page list, holding the free key; its room word matches
 *   its length and cap;
 * - owners: a page's owner is 0 or the id of a live thread slot; an ownerless small page is in
 *   the abandoned list of its class, and abandoned lists hold only ownerless small pages of their
 *   class; each live thread's current pages (by class) are its own pages of that
 *   class and heads of its queue; every owned page is reachable from its owner's current page
 *   (queue) or from the head of a full list, with PG.PREV mirroring PG.NEXT;
 * - checked mode: every live block's trailer decodes to a size n <= size − CHECK_OVERHEAD and its
 *   canary is intact; every block on a free list or a thread-free list carries the free pattern.
 *   A block on no list whose trailer is the free mark and whose free fill is damaged is one that
 *   DebugHeap withheld after catching a write after free at its reuse: "withheld-block". (When
 *   the trailer itself was the damage, nothing tells such a block from a live one whose trailer
 *   was overwritten: "trailer", with a note when its first words hold the free fill.)
 *
 * Invariants: reads only; holds the heap lock for the whole walk (for a non-shared heap whose lock
 * word is not 0 — a corrupt header, or a check from inside the heap — it reports that and walks
 * without it; for a shared heap it waits at most LOCK_WAIT_MS). Exact when no other worker is
 * allocating or freeing meanwhile: their lock-free paths (own free lists, remote frees) do not
 * take the lock.
 */

import { hex } from "./arguments.js";
import {
  CHECK_OVERHEAD, decodeSize, findCanaryDamage, findFreeDamage, freeWord, trailerWord,
} from "./checked_blocks.js";
import {
  Block, Bins, CLASS_TABLE_WORDS, Entry, H, HO, LAYOUT_VERSION, MAGIC, MAX_THREADS, NULL_ENTRY_BYTES, PF, PG, Page,
  T, TC, THREAD_SLOT_WORDS, ThreadState, Kind, tablePages,
} from "./layout.js";
import { unlock } from "./lock.js";
import type { Region } from "./region.js";
import { binOf } from "./segments.js";
import {
  CLASS_CACHE_CAP, CLASS_CAPACITY, CLASS_FIRST_PAGES, CLASS_INV, CLASS_SHIFT, CLASS_SIZE, CLASS_SPAN_PAGES, NUM_CLASSES, SMALL_CLASS, blockIndex,
  spanCapacity,
} from "./size_classes.js";
import { cacheWord } from "./thread_cache.js";

/** One violation of an invariant. */
export interface HeapProblem {
  /**
   * A short stable identifier of what is wrong, e.g. "free-list-cycle", "used-count",
   * "span-head", "bin", "directory", "canary", "free-pattern" (see {@link PROBLEM_KINDS}).
   */
  kind: string;
  /** What is wrong, where, what was expected and what was found. */
  message: string;
  /** Data page the problem is in: 0 is the first data page (its entry is the page table's first). */
  page?: number;
  /** Byte offset (absolute, like a pointer) the problem is at, when there is one. */
  pointer?: number;
}

/** What {@link Heap.check} found. */
export interface CheckReport {
  /** True when no problem was found. */
  ok: boolean;
  /**
   * The violations found, in the order of the walk. A long report is cut by kind, so that a flood
   * of one kind cannot hide another: the first problem of every kind is always kept, later ones
   * while their kind has fewer than 1,000 and the report fewer than 10,000; each kind cut gets one
   * "too-many-problems" entry at the end saying how many of it were left out (see `omitted`).
   */
  problems: HeapProblem[];
  /** Problems found but left out of `problems`, by kind (empty when nothing was cut). */
  omitted: Record<string, number>;
  /** Mapped data pages walked. */
  pages: number;
  /** Pages in spans in use (small pages and large blocks), as counted by the walk. */
  pagesInUse: number;
  /** Small pages (spans serving a size class) and large blocks. */
  smallPages: number;
  /** Large blocks (runs of whole pages). */
  largeBlocks: number;
  /** Blocks in use (handed out and not freed; blocks on a thread-free list are free), large ones included. */
  liveBlocks: number;
  /** Usable bytes of those blocks (class size, or whole pages for a large block). */
  liveBytes: number;
  /** Blocks on free lists and thread-free lists. */
  freeBlocks: number;
  /** Whether checked-mode block formats (canaries, free patterns) were verified. */
  checked: boolean;
}

/**
 * Every kind a problem can have, with what it means.
 */
export const PROBLEM_KINDS: Readonly<Record<string, string>> = {
  "header": "a header word (magic, version, geometry) is wrong",
  "lock": "the heap lock could not be taken",
  "null-entry": "the all-zero page entry that stands for 'no page' is not all zero",
  "class-table": "the size → class table in the buffer differs from the built-in one",
  "mapped-pages": "H.MAPPED_PAGES is beyond H.MAX_PAGES or the buffer",
  "span-tiling": "a span's length does not tile the mapped pages",
  "span-kind": "a span head has an unknown PG.CLASS",
  "span-head": "a page of a span does not name the span's head in PG.HEAD",
  "span-start": "a span head's PG.START is not its first byte",
  "span-length": "a small page's span length differs from its class's",
  "free-span": "a free span's last page, or its owner, is wrong",
  "free-adjacent": "two free spans touch (they should have been coalesced)",
  "bin": "a free span is missing from its bin, is in the wrong bin, or a bin holds a non-free span",
  "bin-link": "a bin's PG.PREV does not mirror its PG.NEXT",
  "bin-cycle": "a bin's list loops",
  "directory": "the segment directory does not place a page's entry in its arena's page table",
  "arena": "an arena's page-table span or its sentinel entry is wrong",
  "pages-in-use": "H.PAGES_IN_USE (or its peak) disagrees with the spans",
  "page-class": "PG.CLASS of a small page disagrees with everything else in its entry (capacity, division constants)",
  "page-capacity": "PG.CAPACITY differs from the class's",
  "page-reserved": "PG.RESERVED is negative or beyond the capacity",
  "page-class-constants": "PG.INV / PG.SHIFT differ from the class's",
  "page-flags": "PG.FLAGS holds impossible bits",
  "free-list-outside-page": "a free-list link points outside its page",
  "free-list-not-block": "a free-list link points inside the page but not at a block start",
  "free-list-unreserved": "a free-list link points at a block never carved (at or past PG.RESERVED)",
  "free-list-cycle": "a free list loops",
  "thread-free-outside-page": "a thread-free link points outside its page",
  "thread-free-not-block": "a thread-free link points inside the page but not at a block start",
  "thread-free-unreserved": "a thread-free link points at a block never carved",
  "thread-free-cycle": "a thread-free list loops",
  "thread-free-duplicate": "a block is on both the free list and the thread-free list",
  "used-count": "PG.USED disagrees with PG.RESERVED minus the free list's length",
  "cache-block": "a thread cache holds something other than a carved block of a page of its class that its thread owns",
  "cache-duplicate": "a block is in a thread cache and also on a page list or in another (or the same) cache",
  "cache-count": "a thread cache's room word disagrees with its list's length and its cap",
  "free-key": "a free block (on a list or in a cache) does not hold the heap's free key in its second word",
  "owner": "a page's owner is not a live thread, or an ownerless page is not abandoned",
  "abandoned": "an abandoned list holds something other than ownerless small pages of its class",
  "thread-slot": "a thread slot holds an impossible state or thread id",
  "current-page": "a live thread's current page of a class is not its own page of that class at the head of its queue",
  "page-queue": "an owned page is not properly linked in its owner's queue or full list",
  "trailer": "a live block's trailer (checked mode) does not decode to a valid size",
  "canary": "a live block's canary bytes (checked mode) were overwritten: a write past its end",
  "free-pattern": "a free block's pattern (checked mode) was overwritten: a write after free",
  "withheld-block": "a block withheld from reuse after a write after free was caught (checked mode): allocated for good",
  "too-many-problems": "the report was cut short: this many more problems of one kind were found and left out",
  "internal": "the check itself failed on something it did not guard against (a bug in the check)",
};

/**
 * Problems of one kind kept at most, and problems kept in all (past it, only the first of each
 * kind). The rest are counted by kind: a heap with thousands of one fault (withheld blocks after a
 * long fuzz, a page table overwritten wholesale) still reports every other kind it has.
 */
const MAX_PER_KIND = 1000;
const MAX_PROBLEMS = 10_000;
/** How long a check of a shared heap waits for the heap lock. */
const LOCK_WAIT_MS = 2000;

/** Scratch bitmap for the blocks of one page, sized for the class with the most blocks. */
let scratch = new Uint8Array(0);
function scratchFor(capacity: number): Uint8Array {
  if (scratch.length < capacity) scratch = new Uint8Array(Math.max(capacity, ...CLASS_CAPACITY));
  scratch.fill(0, 0, capacity);
  return scratch;
}

/** Takes in growth by others (what region.lock() does after taking the lock); true. */
function synced(rg: Region): boolean {
  rg.sync();
  return true;
}

/**
 * Takes the heap lock for a read-only walk. Returns true when taken (release with `unlock`),
 * false when it reported why it walks without it.
 */
export function lockForWalk(rg: Region, report: (p: HeapProblem) => void): boolean {
  const i32 = rg.i32;
  const index = rg.hdr + H.LOCK;
  // Held in this worker's name (as lock.ts holds it), so that a reclaimer can take it over.
  const mine = rg.tid << 1;
  if (Atomics.compareExchange(i32, index, 0, mine) === 0) return synced(rg);
  if (typeof SharedArrayBuffer === "undefined" || !(i32.buffer instanceof SharedArrayBuffer)) {
    report({
      kind: "lock",
      message: `the heap lock (header word ${H.LOCK}) holds ${Atomics.load(i32, index)} on a non-shared heap, where nobody else can hold it: ` +
        "either the header is corrupt or the check was called from inside the heap; walking without the lock",
    });
    return false;
  }
  const deadline = Date.now() + LOCK_WAIT_MS;
  let canWait = true;
  for (;;) {
    const v = Atomics.load(i32, index);
    if (v === 0 && Atomics.compareExchange(i32, index, 0, mine) === 0) return synced(rg);
    if (Date.now() > deadline) break;
    if (canWait && v !== 0) {
      try {
        Atomics.wait(i32, index, v, 1);
      } catch {
        canWait = false;
      }
    }
  }
  report({
    kind: "lock",
    message: `the heap lock (header word ${H.LOCK}) stayed held (value ${Atomics.load(i32, index)}) for ${LOCK_WAIT_MS} ms: ` +
      "a worker may have died holding it; walking without the lock, so concurrent changes may show as problems",
  });
  return false;
}

/** Bytes, readably: "64 B", "12.5 KiB", "3.0 MiB". */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(n % 1024 === 0 ? 0 : 1)} KiB`;
  if (n < 1024 ** 3) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${(n / 1024 ** 3).toFixed(2)} GiB`;
}

/** Walks the region and reports every violation of its invariants. Never throws on a corrupt heap. */
export function checkRegion(rg: Region, checked: boolean): CheckReport {
  const problems: HeapProblem[] = [];
  const kept = new Map<string, number>();
  const omitted: Record<string, number> = {};
  const report = (p: HeapProblem): void => {
    const k = kept.get(p.kind) ?? 0;
    if (k === 0 || (k < MAX_PER_KIND && problems.length < MAX_PROBLEMS)) {
      problems.push(p);
      kept.set(p.kind, k + 1);
    } else {
      omitted[p.kind] = (omitted[p.kind] ?? 0) + 1;
    }
  };
  const result: CheckReport = {
    ok: false, problems, omitted, pages: 0, pagesInUse: 0, smallPages: 0, largeBlocks: 0, liveBlocks: 0, liveBytes: 0, freeBlocks: 0, checked,
  };
  const locked = lockForWalk(rg, report);
  try {
    new Checker(rg, checked, report, result).run();
  } catch (err) {
    // A guard missed something: still a report, never an exception.
    report({ kind: "internal", message: `the check itself failed (a bug in heap_check.ts, likely caused by a corruption it did not guard against): ${(err as Error)?.stack ?? err}` });
  } finally {
    if (locked) unlock(rg.i32, rg.hdr + H.LOCK);
  }
  for (const [kind, n] of Object.entries(omitted)) {
    problems.push({
      kind: "too-many-problems",
      message: `${n} more problems of kind "${kind}" were found and left out of the report (it keeps ${kept.get(kind)} of that kind: at most ${MAX_PER_KIND} of each kind and ${MAX_PROBLEMS} in all, and always the first of each)`,
    });
  }
  result.ok = problems.length === 0;
  return result;
}

/** What the span walk learned about one small page. */
interface SmallPage {
  e: number;
  r: number;
  cls: number;
  owner: number;
  full: boolean;
}

class Checker {
  private readonly i32: Int32Array;
  private readonly u8: Uint8Array;
  /** Mapped pages as far as the walk trusts them (H.MAPPED_PAGES clamped to the limits). */
  private mapped = 0;
  /** Per page: kind of span head at that page (KIND_NONE when the page is not a span head). */
  private headKind = new Int32Array(0);
  /** Per page: length of the span whose head it is. */
  private headLen = new Int32Array(0);
  /** Per page: its entry word, as the segment directory says (checkDirectory). */
  private entryAt = new Int32Array(0);
  /** Entry word → page, for every mapped page. */
  private readonly pageAt = new Map<number, number>();
  /** Per page: the first page past its arena (spans never cross it). */
  private arenaEnd = new Int32Array(0);
  private readonly small: SmallPage[] = [];
  private readonly smallAt = new Map<number, SmallPage>();
  /** Small pages found in an abandoned list. */
  private readonly abandoned = new Set<number>();
  private liveTids = new Set<number>();
  /**
   * Of them, the threads that can still run (ThreadState.ALIVE): only their page queues are
   * checked. A thread that has ended is reclaimed by owner, not through its queues, which it may
   * have left half changed (terminated), and which a reclaim that failed half way (the heap lock
   * could not be had) has cleared.
   */
  private queuedTids = new Set<number>();
  /** Blocks in thread caches: all of them, and their block indices by page head entry. */
  private readonly cachedAll = new Set<number>();
  private readonly cachedAt = new Map<number, number[]>();
  private readonly key: number;
  /** The complete variant of checked mode (every byte), not the fast one. */
  private readonly checkAll: boolean;
  /** Thread slots whose directory word is bad (reported once). */
  private readonly badSlots = new Set<number>();

  constructor(
    private readonly rg: Region,
    private readonly checked: boolean,
    private readonly report: (p: HeapProblem) => void,
    private readonly out: CheckReport,
  ) {
    this.i32 = rg.i32;
    this.u8 = rg.u8;
    this.key = rg.i32[rg.hdr + H.FREE_KEY]!;
    this.checkAll = (rg.i32[rg.hdr + H.OPTIONS]! & HO.COMPLETE) !== 0;
  }

  run(): void {
    if (!this.checkHeader()) return;
    this.checkDirectory();
    this.walkSpans();
    this.checkBins();
    this.checkThreads();
    this.checkAbandoned();
    for (const p of this.small) this.checkSmallPage(p);
    this.checkOwners();
    this.checkQueues();
  }

  // ─── Naming things in messages ───────────────────────────────────────────────────────────

  private entryOk(e: number): boolean {
    return this.pageAt.has(e);
  }

  /** "page 12 (entry word 3456, bytes 0x...–0x...)" */
  private pageName(r: number): string {
    const start = (this.rg.firstPage + r) * Page.SIZE;
    return `page ${r} (entry word ${this.entryAt[r]}, bytes from ${hex(start)})`;
  }

  private entryName(e: number): string {
    return this.entryOk(e) ? `entry word ${e} (page ${this.pageAt.get(e)})` : `entry word ${e} (not the entry of a mapped page)`;
  }

  private smallName(p: SmallPage): string {
    const size = CLASS_SIZE[p.cls]!;
    return `small page ${p.r} (class ${p.cls}: ${size}-byte blocks, entry word ${p.e}, span ${hex(this.startOf(p.r))}, owner ${p.owner})`;
  }

  private startOf(r: number): number {
    return (this.rg.firstPage + r) * Page.SIZE;
  }

  // ─── Header ──────────────────────────────────────────────────────────────────────────────

  /** Checks the header; returns false when nothing else can be trusted (no heap there). */
  private checkHeader(): boolean {
    const { rg, i32, report } = this;
    const h = rg.hdr;
    if (i32[h + H.MAGIC] !== MAGIC) {
      report({ kind: "header", message: `header word ${H.MAGIC} (magic) at byte ${hex(rg.base)} is 0x${(i32[h + H.MAGIC]! >>> 0).toString(16)}, expected 0x${MAGIC.toString(16)} ("HAKM"); the header is overwritten, the rest is not checked`, pointer: rg.base });
      return false;
    }
    if (i32[h + H.VERSION] !== LAYOUT_VERSION) {
      report({ kind: "header", message: `header word ${H.VERSION} (layout version) is ${i32[h + H.VERSION]}, expected ${LAYOUT_VERSION}; the rest is not checked` });
      return false;
    }
    const words: Array<[string, number, number]> = [
      ["H.BASE", H.BASE, rg.base],
      ["H.MAX_BYTES", H.MAX_BYTES, rg.maxBytes | 0],
      ["H.SEGMENT_SHIFT", H.SEGMENT_SHIFT, rg.segmentShift],
      ["H.PAGE_SHIFT", H.PAGE_SHIFT, Page.SHIFT],
      ["H.MAX_PAGES", H.MAX_PAGES, rg.maxPages],
      ["H.FIRST_PAGE", H.FIRST_PAGE, rg.firstPage],
      ["H.BINS", H.BINS, (rg.binsWord << 2) - rg.base],
      ["H.CLASS_TABLE", H.CLASS_TABLE, (rg.classTableWord << 2) - rg.base],
      ["H.THREADS", H.THREADS, (rg.threadDirWord << 2) - rg.base],
      ["H.DIRECTORY", H.DIRECTORY, (rg.dirWord << 2) - rg.base],
      ["H.ABANDONED", H.ABANDONED, (rg.abandonedWord << 2) - rg.base],
    ];
    for (const [name, w, want] of words) {
      if (i32[h + w] !== want) report({ kind: "header", message: `header word ${w} (${name}) is ${i32[h + w]}, expected ${want} (the geometry this worker attached with)` });
    }
    for (let k = 0; k < NULL_ENTRY_BYTES >>> 2; k++) {
      if (i32[rg.nullEntry + k] !== 0) {
        report({ kind: "null-entry", message: `word ${k} of the null page entry (word ${rg.nullEntry + k}) is ${i32[rg.nullEntry + k]}, expected 0: mallocs of classes without a page would read it as a free list` });
      }
    }
    for (let k = 0; k < CLASS_TABLE_WORDS; k++) {
      if (i32[rg.classTableWord + k] !== SMALL_CLASS[k]) {
        report({ kind: "class-table", message: `size-class table word ${k} (requests of ${Math.max(0, 8 * k - 7)}..${8 * k} bytes) is ${i32[rg.classTableWord + k]}, expected class ${SMALL_CLASS[k]}` });
      }
    }
    const mapped = Atomics.load(i32, h + H.MAPPED_PAGES);
    const bufferPages = Math.floor(rg.u8.length / Page.SIZE) - rg.firstPage;
    let trusted = mapped;
    if (mapped < 0 || mapped > rg.maxPages) {
      report({ kind: "mapped-pages", message: `H.MAPPED_PAGES is ${mapped}, outside [0, H.MAX_PAGES = ${rg.maxPages}]; checking the first ${Math.max(0, Math.min(rg.maxPages, bufferPages))} pages` });
      trusted = Math.max(0, Math.min(rg.maxPages, bufferPages));
    } else if (mapped > bufferPages) {
      report({ kind: "mapped-pages", message: `H.MAPPED_PAGES is ${mapped}, but the buffer (${rg.u8.length} bytes) holds only ${bufferPages} data pages; checking those` });
      trusted = Math.max(0, bufferPages);
    }
    this.mapped = trusted;
    this.out.pages = trusted;
    return true;
  }

  // ─── Directory and arenas ────────────────────────────────────────────────────────────────

  /**
   * Reads every mapped page's entry through the segment directory, and checks each arena: its
   * segments share one bias, its first pages hold its table (a metadata span whose entry is the
   * table's first word), its table ends with the sentinel. Pages past a segment whose bias places
   * entries outside the mapped data are not walked (`mapped` is cut there).
   */
  private checkDirectory(): void {
    const { rg, i32, report } = this;
    const segPages = 1 << rg.segmentPageShift;
    const lowWord = rg.dataStart >>> 2;
    const mapped = this.mapped;
    this.entryAt = new Int32Array(mapped);
    this.arenaEnd = new Int32Array(mapped);
    let trusted = mapped;
    for (let r = 0; r < mapped; r++) {
      const e = rg.entryOfPage(r);
      const highWord = (rg.dataStart + mapped * Page.SIZE) >>> 2;
      if (!(Number.isInteger(e) && e >= lowWord && e + Entry.WORDS <= highWord)) {
        const s = r >>> rg.segmentPageShift;
        report({
          kind: "directory",
          message: `segment ${s} (directory word ${rg.dirWord + s}) has bias ${i32[rg.dirWord + s]}, which puts the entry of ${`page ${r}`} at word ${e}, outside the mapped data (words ${lowWord}..${highWord}); pages from ${r} on are not walked`,
          page: r,
        });
        trusted = r;
        break;
      }
      this.entryAt[r] = e;
      this.pageAt.set(e, r);
    }
    // Arenas: runs of whole segments with one bias.
    for (let r = 0; r < trusted; ) {
      const bias = i32[rg.dirWord + (r >>> rg.segmentPageShift)]!;
      let end = r + segPages;
      while (end < trusted && i32[rg.dirWord + (end >>> rg.segmentPageShift)] === bias) end += segPages;
      end = Math.min(end, trusted);
      for (let k = r; k < end; k++) this.arenaEnd[k] = end;
      const e = this.entryAt[r]!;
      const start = this.startOf(r);
      const meta = tablePages(end - r);
      const sentinel = e + (end - r) * Entry.WORDS;
      const what = `the arena of pages ${r}..${end - 1} (bytes from ${hex(start)})`;
      if (e !== start >>> 2 || i32[e + PG.CLASS] !== Kind.META || i32[e + PG.PAGES] !== meta) {
        report({
          kind: "arena",
          message: `${what}: its first page's entry should be the first word of its own page table (word ${start >>> 2}), a metadata span of ${meta} pages; ` +
            `it is word ${e}, PG.CLASS ${i32[e + PG.CLASS]}, PG.PAGES ${i32[e + PG.PAGES]}`,
          page: r,
        });
      } else if (i32[sentinel + PG.CLASS] !== Kind.META || i32[sentinel + PG.HEAD] !== sentinel) {
        report({
          kind: "arena",
          message: `${what}: the entry after its last page (word ${sentinel}) should be its sentinel (PG.CLASS ${Kind.META}, PG.HEAD itself), so that no free span coalesces past the arena; it holds PG.CLASS ${i32[sentinel + PG.CLASS]}, PG.HEAD ${i32[sentinel + PG.HEAD]}`,
          page: end - 1,
        });
      }
      r = end;
    }
    this.mapped = trusted;
    this.out.pages = trusted;
  }

  // ─── Spans ───────────────────────────────────────────────────────────────────────────────

  private walkSpans(): void {
    const { rg, i32, report } = this;
    const mapped = this.mapped;
    this.headKind = new Int32Array(mapped).fill(KIND_NONE);
    this.headLen = new Int32Array(mapped);
    let inUse = 0;
    let metaPages = 0;
    let prevFree = -1;
    for (let r = 0; r < mapped; ) {
      const e = this.entryAt[r]!;
      const cls = i32[e + PG.CLASS]!;
      let n = i32[e + PG.PAGES]!;
      const end = this.arenaEnd[r]!;
      if (r === (r > 0 ? this.arenaEnd[r - 1]! : 0)) prevFree = -1; // an arena starts here
      const kindOk = cls === Kind.FREE || cls === Kind.LARGE || cls === Kind.META || (cls >= 0 && cls < NUM_CLASSES);
      if (!(n >= 1 && r + n <= end)) {
        const guess = this.guessLength(r, e, cls);
        report({
          kind: "span-tiling",
          message: `${this.pageName(r)} heads a span (PG.CLASS ${describeKind(cls)}) whose PG.PAGES is ${n}; a span must have 1..${end - r} pages to end within its arena (pages up to ${end - 1}). ` +
            `Going on as if it had ${guess} (pages that name it as their head)`,
          page: r,
        });
        n = guess;
      }
      if (!kindOk) {
        report({ kind: "span-kind", message: `${this.pageName(r)} is where a span should start (the previous span ended there) but its PG.CLASS is ${cls}: expected a size class 0..${NUM_CLASSES - 1}, ${Kind.FREE} (free), ${Kind.LARGE} (large) or ${Kind.META} (metadata)`, page: r });
      }
      if (i32[e + PG.HEAD] !== e) {
        report({ kind: "span-head", message: `${this.pageName(r)} heads a span of ${n} pages (PG.CLASS ${describeKind(cls)}) but its PG.HEAD is ${i32[e + PG.HEAD]}, expected its own entry word ${e}`, page: r });
      }
      if (i32[e + PG.START] !== (this.startOf(r) | 0)) {
        report({ kind: "span-start", message: `${this.pageName(r)} heads a span but its PG.START is ${hex(i32[e + PG.START]!)}, expected ${hex(this.startOf(r))}`, page: r });
      }
      this.headKind[r] = kindOk ? cls : KIND_BAD;
      this.headLen[r] = n;
      if (cls === Kind.FREE) {
        const last = e + (n - 1) * Entry.WORDS;
        if (i32[last + PG.CLASS] !== Kind.FREE || i32[last + PG.PAGES] !== n || i32[last + PG.HEAD] !== e) {
          report({
            kind: "free-span",
            message: `free span at ${this.pageName(r)}, ${n} pages: its last page ${r + n - 1} should carry PG.CLASS ${Kind.FREE}, PG.PAGES ${n}, PG.HEAD ${e}; ` +
              `it carries ${i32[last + PG.CLASS]}, ${i32[last + PG.PAGES]}, ${i32[last + PG.HEAD]}`,
            page: r + n - 1,
          });
        }
        // Inside a free span PG.HEAD is stale, but it must still name a page entry: free(p) of a
        // pointer into the page reads the entry it names (its PG.OWNER first).
        for (let i = 1; i < n - 1; i++) {
          const h = i32[e + i * Entry.WORDS + PG.HEAD]!;
          if (!this.entryOk(h)) {
            report({ kind: "span-head", message: `${this.pageName(r + i)}, inside the free span at page ${r}, has PG.HEAD ${h}, which is not the entry of a mapped page: free() of a pointer into this page would read a page entry there`, page: r + i });
          }
        }
        if (i32[e + PG.OWNER] !== 0) {
          report({ kind: "free-span", message: `free span at ${this.pageName(r)} has PG.OWNER ${i32[e + PG.OWNER]}, expected 0 (the free fast path would take it for a page of that thread)`, page: r });
        }
        if (prevFree >= 0) {
          report({ kind: "free-adjacent", message: `free span at ${this.pageName(r)} (${n} pages) follows the free span at page ${prevFree} (${this.headLen[prevFree]} pages): free neighbours must be coalesced into one span`, page: r });
        }
        prevFree = r;
      } else {
        prevFree = -1;
        if (kindOk) {
          for (let i = 1; i < n; i++) {
            const pe = e + i * Entry.WORDS;
            if (i32[pe + PG.HEAD] !== e) {
              report({ kind: "span-head", message: `${this.pageName(r + i)} is page ${i} of the ${n}-page span at page ${r} (PG.CLASS ${describeKind(cls)}) but its PG.HEAD is ${i32[pe + PG.HEAD]}, expected ${e}: free() and view() of pointers into it would find the wrong span`, page: r + i });
            }
          }
          if (cls === Kind.META) metaPages += n;
          else inUse += n;
        }
        if (cls === Kind.LARGE || cls === Kind.META) {
          if (i32[e + PG.OWNER] !== 0 || i32[e + PG.TAG] !== 0) {
            report({ kind: "owner", message: `${cls === Kind.META ? "metadata span" : "large block"} at ${this.pageName(r)} (${n} pages) has PG.OWNER ${i32[e + PG.OWNER]} and PG.TAG ${i32[e + PG.TAG]}, expected 0 (the free fast path would take it for a small page)`, page: r, pointer: this.startOf(r) });
          }
        }
        if (cls === Kind.LARGE) {
          this.out.largeBlocks++;
          this.out.liveBlocks++;
          this.out.liveBytes += n * Page.SIZE;
          if (this.checked) this.checkLiveBlock(this.startOf(r), n * Page.SIZE, `large block at ${this.pageName(r)} (${n} pages)`, r);
        } else if (cls >= 0 && cls < NUM_CLASSES) {
          if (n < CLASS_FIRST_PAGES[cls]! || n > CLASS_SPAN_PAGES[cls]!) {
            report({ kind: "span-length", message: `${this.pageName(r)} is a small page of class ${cls} (${CLASS_SIZE[cls]}-byte blocks) spanning ${n} pages; pages of that class span ${CLASS_FIRST_PAGES[cls]}..${CLASS_SPAN_PAGES[cls]}`, page: r });
          }
          const p: SmallPage = { e, r, cls, owner: Atomics.load(i32, e + PG.OWNER), full: (i32[e + PG.FLAGS]! & PF.FULL) !== 0 };
          this.small.push(p);
          this.smallAt.set(e, p);
          this.out.smallPages++;
        }
      }
      r += n;
    }
    this.out.pagesInUse = inUse;

    const counted = i32[rg.hdr + H.PAGES_IN_USE]!;
    if (counted !== inUse) {
      report({ kind: "pages-in-use", message: `H.PAGES_IN_USE is ${counted}, but the spans in use for blocks (small pages and large blocks) cover ${inUse} pages` });
    }
    if (i32[rg.hdr + H.META_PAGES] !== metaPages) {
      report({ kind: "pages-in-use", message: `H.META_PAGES is ${i32[rg.hdr + H.META_PAGES]}, but the metadata spans (page tables, thread slots) cover ${metaPages} pages` });
    }
    const peak = i32[rg.hdr + H.PEAK_PAGES_IN_USE]!;
    if (peak < counted) {
      report({ kind: "pages-in-use", message: `H.PEAK_PAGES_IN_USE is ${peak}, below H.PAGES_IN_USE ${counted}` });
    }
  }

  /** A span length for a head whose PG.PAGES cannot be right, from the pages that follow it. */
  private guessLength(r: number, e: number, cls: number): number {
    const i32 = this.i32;
    if (cls === Kind.FREE) {
      for (let k = r + 1; k < this.arenaEnd[r]!; k++) {
        const pe = this.entryAt[k]!;
        if (i32[pe + PG.CLASS] === Kind.FREE && i32[pe + PG.HEAD] === e) return k - r + 1;
      }
      return 1;
    }
    let k = r + 1;
    while (k < this.arenaEnd[r]! && i32[this.entryAt[k]! + PG.HEAD] === e) k++;
    return k - r;
  }

  // ─── Bins ────────────────────────────────────────────────────────────────────────────────

  private checkBins(): void {
    const { rg, i32, report } = this;
    const seenIn = new Map<number, number>(); // head entry → bin
    for (let b = 0; b < Bins.COUNT; b++) {
      let prev = 0;
      let steps = 0;
      for (let e = i32[rg.binsWord + b]!; e !== 0; e = i32[e + PG.NEXT]!) {
        const where = prev === 0 ? `the head of bin ${b} (word ${rg.binsWord + b})` : `PG.NEXT of ${this.entryName(prev)} in bin ${b}`;
        if (!this.entryOk(e)) {
          report({ kind: "bin", message: `${where} is ${e}, which is not the entry of a mapped page; the bin is cut there` });
          break;
        }
        const r = this.pageAt.get(e)!;
        if (this.headKind[r] !== Kind.FREE) {
          report({ kind: "bin", message: `${where} is ${this.entryName(e)}, which is not the head of a free span (${this.headKind[r] === KIND_NONE ? "not a span head" : `a span of class ${describeKind(this.headKind[r]!)}`}); the bin is cut there`, page: r });
          break;
        }
        const other = seenIn.get(e);
        if (other !== undefined) {
          report(other === b
            ? { kind: "bin-cycle", message: `bin ${b} loops: ${where} leads back to ${this.entryName(e)}`, page: r }
            : { kind: "bin", message: `the free span at page ${r} is in bin ${other} and again in bin ${b} (${where})`, page: r });
          break;
        }
        seenIn.set(e, b);
        const len = this.headLen[r]!;
        if (binOf(len) !== b) {
          report({ kind: "bin", message: `the free span at page ${r} (${len} pages) is in bin ${b}, but spans of ${len} pages belong in bin ${binOf(len)}: acquireSpan may miss it or hand it out for a request it cannot hold`, page: r });
        }
        if (i32[e + PG.PREV] !== prev) {
          report({ kind: "bin-link", message: `in bin ${b}, ${this.entryName(e)} has PG.PREV ${i32[e + PG.PREV]}, expected ${prev} (${prev === 0 ? "it is first" : "the entry that links to it"})`, page: r });
        }
        prev = e;
        if (++steps > this.mapped) break; // cannot happen: seenIn catches loops first
      }
    }
    for (let r = 0; r < this.mapped; r++) {
      if (this.headKind[r] === Kind.FREE && !seenIn.has(rg.entryOfPage(r))) {
        const len = this.headLen[r]!;
        report({ kind: "bin", message: `the free span at ${this.pageName(r)} (${len} pages) is in no bin (expected bin ${binOf(len)}): its pages can never be reused`, page: r });
      }
    }
  }

  // ─── Threads, abandoned pages, owners, queues ────────────────────────────────────────────

  /**
   * Word index of thread slot `t` from the thread directory, or 0 when it has not been made, or
   * when the directory names no place inside a metadata page of the mapped data (reported once).
   */
  private slotOf(t: number): number {
    const { rg, i32 } = this;
    const w = i32[rg.threadDirWord + t]!;
    if (w === 0) return 0;
    const r = ((w << 2) >>> Page.SHIFT) - rg.firstPage;
    const e = r >= 0 && r < this.mapped ? i32[this.entryAt[r]! + PG.HEAD]! : -1;
    const within = e >= 0 && i32[e + PG.CLASS] === Kind.META && (w << 2) - (i32[e + PG.START]! >>> 0) + THREAD_SLOT_WORDS * 4 <= Page.SIZE * i32[e + PG.PAGES]!;
    if (!within) {
      if (!this.badSlots.has(t)) {
        this.badSlots.add(t);
        this.report({ kind: "thread-slot", message: `thread directory word ${rg.threadDirWord + t} (slot ${t}) names word ${w}, which is not inside a metadata page of the heap: the slot is not read` });
      }
      return 0;
    }
    return w;
  }

  private checkThreads(): void {
    const { rg, i32, report } = this;
    const nextTid = i32[rg.hdr + H.NEXT_TID]!;
    const live = new Set<number>();
    const queued = new Set<number>();
    for (let t = 0; t < MAX_THREADS; t++) {
      const slot = this.slotOf(t);
      if (slot === 0) break;
      const state = Atomics.load(i32, slot + T.STATE);
      if (state === ThreadState.FREE) continue;
      if (state !== ThreadState.ALIVE && state !== ThreadState.ENDED && state !== ThreadState.RECLAIMING) {
        report({ kind: "thread-slot", message: `thread slot ${t} (word ${slot}) has state ${state}, expected ${ThreadState.FREE} (free), ${ThreadState.ALIVE} (alive), ${ThreadState.ENDED} (ended, not yet reclaimed) or ${ThreadState.RECLAIMING} (being reclaimed)` });
        continue;
      }
      const tid = Atomics.load(i32, slot + T.TID);
      if (tid <= 0 || tid > nextTid) {
        report({ kind: "thread-slot", message: `thread slot ${t} (word ${slot}) is occupied (state ${state}) by thread id ${tid}, outside the ids handed out so far (1..${nextTid})` });
        continue;
      }
      if (live.has(tid)) {
        report({ kind: "thread-slot", message: `thread id ${tid} is alive in two thread slots (the second is slot ${t})` });
        continue;
      }
      live.add(tid);
      if (state === ThreadState.ALIVE) queued.add(tid);
      this.collectCache(slot, t, tid);
    }
    this.liveTids = live;
    this.queuedTids = queued;
  }

  /**
   * Walks the thread cache of every class of the live thread `tid` (slot `t` at word `slot`):
   * each block must be a carved block of a small page of that class the thread owns, found once;
   * the room word must match. Remembers the blocks for the page checks (checkSmallPage).
   */
  private collectCache(slot: number, t: number, tid: number): void {
    const { i32, report } = this;
    for (let c = 0; c < NUM_CLASSES; c++) {
      const w = cacheWord(slot, c);
      const cap = CLASS_CACHE_CAP[c]!;
      const what = `the thread cache of class ${c} (${CLASS_SIZE[c]}-byte blocks) of thread ${tid} (slot ${t}, word ${w})`;
      let n = 0;
      let intact = true;
      let from = 0;
      for (let b = i32[w + TC.HEAD]! >>> 0; b !== 0; from = b, b = i32[b >>> 2]! >>> 0) {
        const where = n === 0 ? `the head of ${what}` : `the link in block ${hex(from)} (item ${n} of ${what})`;
        if (n >= cap) {
          report({ kind: "cache-count", message: `${what} holds more than its cap of ${cap} blocks (it loops, or a push ignored its room); the walk stops there`, pointer: b });
          intact = false;
          break;
        }
        const rel = (b >>> Page.SHIFT) - this.rg.firstPage;
        const e = rel >= 0 && rel < this.mapped ? i32[this.entryAt[rel]! + PG.HEAD]! : 0;
        const p = this.smallAt.get(e);
        const offset = p === undefined ? -1 : b - this.startOf(p.r);
        const idx = offset < 0 ? -1 : blockIndex(c, offset);
        if (p === undefined || p.cls !== c || p.owner !== tid || idx < 0 || idx >= Math.min(spanCapacity(c, this.headLen[p.r]!), i32[e + PG.RESERVED]!)) {
          report({
            kind: "cache-block",
            message: `${where} is ${hex(b)}, which is not a carved block of a page of class ${c} owned by thread ${tid}` +
              (p === undefined ? " (it is not in a small page)" : ` (it lies in ${this.smallName(p)})`) + "; the list is cut there",
            page: p?.r,
            pointer: b,
          });
          intact = false;
          break;
        }
        if (this.cachedAll.has(b)) {
          report({ kind: "cache-duplicate", message: `${where} is ${hex(b)}, which is already in a thread cache (a double free?); the list is cut there`, page: p.r, pointer: b });
          intact = false;
          break;
        }
        this.cachedAll.add(b);
        const list = this.cachedAt.get(e);
        if (list === undefined) this.cachedAt.set(e, [idx]);
        else list.push(idx);
        n++;
      }
      const room = i32[w + TC.ROOM]!;
      if (intact && room !== cap - n) {
        report({ kind: "cache-count", message: `${what} holds ${n} blocks of its cap of ${cap}, but its room word is ${room}, expected ${cap - n}` });
      }
    }
  }

  private checkAbandoned(): void {
    const { rg, i32, report } = this;
    for (let c = 0; c < NUM_CLASSES; c++) {
      let steps = 0;
      let prev = 0;
      for (let e = i32[rg.abandonedWord + c]!; e !== 0; e = i32[e + PG.NEXT]!) {
        const where = prev === 0 ? `the abandoned list of class ${c} (${CLASS_SIZE[c]}-byte blocks, word ${rg.abandonedWord + c})` : `PG.NEXT of abandoned ${this.entryName(prev)}`;
        const p = this.smallAt.get(e);
        if (p === undefined) {
          report({ kind: "abandoned", message: `${where} is ${this.entryName(e)}, which is not the head of a small page; the list is cut there`, page: this.pageAt.get(e) });
          break;
        }
        if (this.abandoned.has(e)) {
          report({ kind: "abandoned", message: `${where} leads back to ${this.smallName(p)}: the abandoned list of class ${c} loops (or holds a page twice)`, page: p.r });
          break;
        }
        this.abandoned.add(e);
        if (p.cls !== c) report({ kind: "abandoned", message: `${this.smallName(p)} is in the abandoned list of class ${c} (${CLASS_SIZE[c]}-byte blocks): a worker adopting it would serve the wrong size`, page: p.r });
        if (p.owner !== 0) report({ kind: "abandoned", message: `${this.smallName(p)} is in the abandoned list of class ${c} but has owner ${p.owner}, expected 0`, page: p.r });
        if (p.full) {
          report({ kind: "abandoned", message: `${this.smallName(p)} is abandoned but still flagged full (PG.FLAGS ${i32[e + PG.FLAGS]}); abandoning must clear it`, page: p.r });
        }
        prev = e;
        if (++steps > this.small.length) break;
      }
    }
  }

  private checkOwners(): void {
    const { report } = this;
    for (const p of this.small) {
      if (p.owner === 0) {
        if (!this.abandoned.has(p.e)) {
          report({ kind: "owner", message: `${this.smallName(p)} has no owner and is in no abandoned list: nobody can adopt it, so its free blocks are lost until reset()`, page: p.r });
        }
      } else if (!this.liveTids.has(p.owner)) {
        report({ kind: "owner", message: `${this.smallName(p)} is owned by thread ${p.owner}, which has no live thread slot (live: ${[...this.liveTids].join(", ") || "none"}): its blocks can be freed but never reused; the thread's pages should have been abandoned (dispose or reclaimThread(${p.owner}))`, page: p.r });
      }
    }
  }

  /**
   * Every running thread's current pages are its own, and every page it owns is reachable from a
   * queue head (the current page) or a full-list head, with PG.PREV mirroring PG.NEXT.
   */
  private checkQueues(): void {
    const { rg, i32, report } = this;
    const reached = new Set<number>();
    const limit = this.small.length + 1;
    const follow = (first: SmallPage, tid: number, cls: number, full: boolean, what: string): void => {
      let prev = 0;
      let steps = 0;
      for (let e = first.e; e !== 0; ) {
        const p = this.smallAt.get(e);
        const where = prev === 0 ? what : `PG.NEXT of ${this.entryName(prev)} in ${what}`;
        if (p === undefined) {
          report({ kind: "page-queue", message: `${where} is ${this.entryName(e)}, which is not a small page; the list is cut there` });
          return;
        }
        if (reached.has(e)) {
          report({ kind: "page-queue", message: `${where} leads to ${this.smallName(p)}, which is already in a list: the list loops or two lists share a page`, page: p.r });
          return;
        }
        if (p.owner !== tid || p.cls !== cls || p.full !== full) {
          report({ kind: "page-queue", message: `${where} leads to ${this.smallName(p)}${p.full ? ", flagged full" : ""}: expected a ${full ? "full" : "non-full"} page of class ${cls} owned by thread ${tid}; the list is cut there`, page: p.r });
          return;
        }
        reached.add(e);
        if (i32[e + PG.PREV] !== prev) {
          report({ kind: "page-queue", message: `${this.smallName(p)} in ${what} has PG.PREV ${i32[e + PG.PREV]}, expected ${prev}`, page: p.r });
        }
        prev = e;
        e = i32[e + PG.NEXT]!;
        if (++steps > limit) return;
      }
    };
    for (let t = 0; t < MAX_THREADS; t++) {
      const slot = this.slotOf(t);
      if (slot === 0) break;
      if (Atomics.load(i32, slot + T.STATE) === ThreadState.FREE) continue;
      const tid = Atomics.load(i32, slot + T.TID);
      if (!this.queuedTids.has(tid)) continue;
      for (let c = 0; c < NUM_CLASSES; c++) {
        const cur = i32[slot + T.CURRENT + c]!;
        if (cur === rg.nullEntry) continue;
        const p = this.smallAt.get(cur);
        const what = `the queue of class ${c} (${CLASS_SIZE[c]}-byte blocks) of thread ${tid} (slot ${t})`;
        if (p === undefined || p.owner !== tid || p.cls !== c || p.full) {
          report({
            kind: "current-page",
            message: `thread ${tid} (slot ${t}, word ${slot + T.CURRENT + c}) has ${this.entryName(cur)} as its current page of class ${c} (${CLASS_SIZE[c]}-byte blocks), ` +
              `expected the null entry (${rg.nullEntry}) or a non-full page of that class it owns; found ${p === undefined ? "no small page" : this.smallName(p) + (p.full ? ", flagged full" : "")}. Its mallocs of that size would take blocks from there`,
            page: p?.r,
          });
          continue;
        }
        follow(p, tid, c, false, what);
      }
    }
    // Full lists: their heads live in the owner's memory; a full page with PG.PREV 0 is a head.
    const fullHeads = new Map<string, SmallPage>();
    for (const p of this.small) {
      if (p.owner === 0 || !p.full || !this.queuedTids.has(p.owner) || i32[p.e + PG.PREV] !== 0) continue;
      const key = `${p.owner}/${p.cls}`;
      const other = fullHeads.get(key);
      if (other !== undefined) {
        report({ kind: "page-queue", message: `${this.smallName(p)} and small page ${other.r} are both full with PG.PREV 0: thread ${p.owner} has one full list per class, so one of them is unlinked`, page: p.r });
        continue;
      }
      fullHeads.set(key, p);
      follow(p, p.owner, p.cls, true, `the full list of class ${p.cls} of thread ${p.owner}`);
    }
    for (const p of this.small) {
      if (p.owner === 0 || !this.queuedTids.has(p.owner) || reached.has(p.e)) continue;
      report({
        kind: "page-queue",
        message: `${this.smallName(p)}${p.full ? ", flagged full," : ""} is not reachable from thread ${p.owner}'s ${p.full ? "full list" : "current page"} of class ${p.cls} ` +
          `(PG.PREV ${i32[p.e + PG.PREV]}, PG.NEXT ${i32[p.e + PG.NEXT]}): its owner will ${p.full ? "never wake it" : "never allocate from it"}`,
        page: p.r,
      });
    }
  }

  // ─── Small pages ─────────────────────────────────────────────────────────────────────────

  private checkSmallPage(p: SmallPage): void {
    const { i32, report } = this;
    const { e, cls, r } = p;
    const size = CLASS_SIZE[cls]!;
    const capacity = spanCapacity(cls, this.headLen[r]!);
    const start = this.startOf(r);
    const name = this.smallName(p);
    if (i32[e + PG.CAPACITY] !== capacity && (i32[e + PG.INV] !== CLASS_INV[cls] || i32[e + PG.SHIFT] !== CLASS_SHIFT[cls])) {
      // Nothing of the page agrees with its class: PG.CLASS itself is the likely damage. Its lists
      // cannot be read with the wrong block size, so the page is left at that.
      let guess = -1;
      for (let c = 0; c < NUM_CLASSES; c++) {
        if (i32[e + PG.CAPACITY] === spanCapacity(c, this.headLen[r]!) && i32[e + PG.INV] === CLASS_INV[c] && i32[e + PG.SHIFT] === CLASS_SHIFT[c]) guess = c;
      }
      report({
        kind: "page-class",
        message: `${name}: PG.CAPACITY ${i32[e + PG.CAPACITY]}, PG.INV and PG.SHIFT all disagree with class ${cls}` +
          (guess >= 0 ? `; they are those of class ${guess} (${CLASS_SIZE[guess]}-byte blocks): PG.CLASS was probably overwritten` : `, and match no class: the page entry is overwritten`) +
          "; its lists are not checked",
        page: r,
      });
      return;
    }
    if (i32[e + PG.CAPACITY] !== capacity) {
      report({ kind: "page-capacity", message: `${name}: PG.CAPACITY is ${i32[e + PG.CAPACITY]}, expected ${capacity} blocks for its class`, page: r });
    }
    let reserved = i32[e + PG.RESERVED]!;
    let reservedOk = true;
    if (reserved < 0 || reserved > capacity) {
      report({ kind: "page-reserved", message: `${name}: PG.RESERVED is ${reserved}, outside [0, ${capacity}] (the blocks the page holds); counting with ${Math.max(0, Math.min(capacity, reserved))}`, page: r });
      reserved = Math.max(0, Math.min(capacity, reserved));
      reservedOk = false;
    }
    if (i32[e + PG.INV] !== CLASS_INV[cls] || i32[e + PG.SHIFT] !== CLASS_SHIFT[cls]) {
      report({
        kind: "page-class-constants",
        message: `${name}: PG.INV / PG.SHIFT are 0x${(i32[e + PG.INV]! >>> 0).toString(16)} / ${i32[e + PG.SHIFT]}, expected 0x${(CLASS_INV[cls]! >>> 0).toString(16)} / ${CLASS_SHIFT[cls]} for ${size}-byte blocks: free() would accept or reject the wrong pointers`,
        page: r,
      });
    }
    const flags = i32[e + PG.FLAGS]!;
    if ((flags & ~PF.FULL) !== 0) report({ kind: "page-flags", message: `${name}: PG.FLAGS is ${flags}; only bit ${PF.FULL} (full) exists`, page: r });

    const seen = scratchFor(capacity);
    const free = this.walkList(p, "free-list", i32[e + PG.FREE]!, seen, 1, reserved, start, size);
    const remote = this.walkList(p, "thread-free", Atomics.load(i32, e + PG.THREAD_FREE), seen, 2, reserved, start, size);
    let cached = 0;
    for (const idx of this.cachedAt.get(e) ?? []) {
      if (seen[idx] !== 0) {
        report({ kind: "cache-duplicate", message: `block ${hex(start + idx * size)} (block ${idx} of ${name}) is in its owner's thread cache and also ${LIST_NAMES[seen[idx]!]} (a double free?)`, page: r, pointer: start + idx * size });
        continue;
      }
      seen[idx] = 3;
      cached++;
    }
    this.out.freeBlocks += free.count + remote.count + cached;
    // (In checked mode the key is part of the free pattern, checked below.)
    for (let i = 0; i < reserved && !this.checked; i++) {
      if (seen[i] === 0) continue;
      const b = start + i * size;
      const word = i32[(b >>> 2) + Block.KEY]!;
      if (word !== this.key) {
        report({
          kind: "free-key",
          message: `free block ${hex(b)} (block ${i} of ${name}, ${LIST_NAMES[seen[i]!]}) holds 0x${(word >>> 0).toString(16)} in its second word, not the heap's free key: a write after free, or a block freed without its mark (a double free of it would go unseen)`,
          page: r,
          pointer: b,
        });
      }
    }

    const used = i32[e + PG.USED]!;
    if (free.intact && reservedOk) {
      const want = reserved - free.count;
      if (used !== want) {
        report({
          kind: "used-count",
          message: `${name}: PG.USED is ${used} blocks handed out, but PG.RESERVED ${reserved} − ${free.count} on the free list = ${want}` +
            `${remote.count + cached > 0 ? ` (the ${remote.count} on the thread-free list and the ${cached} in the owner's thread cache count as handed out)` : ""}. ` +
            `${used > want ? "The page would never be seen as empty (a leak)" : "The page could be released with blocks still in use"}`,
          page: r,
        });
      }
    }

    // Live blocks: carved, on neither list. Only known when both lists could be read whole.
    if (free.intact && remote.intact) {
      let live = 0;
      for (let i = 0; i < reserved; i++) {
        if (seen[i] !== 0) continue;
        live++;
        if (this.checked) this.checkLiveBlock(start + i * size, size, `block ${i} of ${name}`, r);
      }
      this.out.liveBlocks += live;
      this.out.liveBytes += live * size;
    }
    if (this.checked) {
      for (let i = 0; i < reserved; i++) {
        if (seen[i] === 0) continue;
        const b = start + i * size;
        const at = findFreeDamage(i32, b, size, this.key, this.checkAll);
        if (at >= 0) {
          const a = b + at;
          const expected = at === size - 4 ? `the free mark 0x${(freeWord(a) >>> 0).toString(16)}` : at === 4 ? "the free key" : "the free fill";
          report({
            kind: "free-pattern",
            message: `free block ${hex(b)} (block ${i} of ${name}, ${LIST_NAMES[seen[i]!]}) was written after it was freed: ` +
              `byte ${at} (address ${hex(a)}) holds 0x${(i32[a >>> 2]! >>> 0).toString(16)} instead of ${expected}`,
            page: r,
            pointer: b,
          });
        }
      }
    }
  }

  /**
   * Walks one list of page `p` from `head`, marking each block in `seen` with `mark`. Returns the
   * blocks counted and whether the walk reached the end of the list without a bad link.
   */
  private walkList(
    p: SmallPage, list: "free-list" | "thread-free", head: number, seen: Uint8Array, mark: number,
    reserved: number, start: number, size: number,
  ): { count: number; intact: boolean } {
    const { i32, report } = this;
    const bytes = this.headLen[p.r]! * Page.SIZE;
    const listName = list === "free-list" ? "free list (PG.FREE)" : "thread-free list (PG.THREAD_FREE)";
    let count = 0;
    let from = -1;
    for (let b = head >>> 0; b !== 0; ) {
      const where = from < 0 ? `the head of its ${listName}` : `the link in block ${hex(from)} (item ${count} of its ${listName})`;
      const offset = b - start;
      if (offset < 0 || offset >= bytes) {
        report({ kind: `${list}-outside-page`, message: `${this.smallName(p)}: ${where} is ${hex(b)}, outside the page's ${hex(start)}..${hex(start + bytes)}; the list is cut there`, page: p.r, pointer: b });
        return { count, intact: false };
      }
      const idx = blockIndex(p.cls, offset);
      if (idx >= spanCapacity(p.cls, this.headLen[p.r]!)) {
        const k = Math.floor(offset / size);
        report({ kind: `${list}-not-block`, message: `${this.smallName(p)}: ${where} is ${hex(b)}, ${offset - k * size} bytes into block ${k} (${hex(start + k * size)}), not the start of a ${size}-byte block; the list is cut there`, page: p.r, pointer: b });
        return { count, intact: false };
      }
      if (idx >= reserved) {
        report({ kind: `${list}-unreserved`, message: `${this.smallName(p)}: ${where} is ${hex(b)}, block ${idx}, at or past PG.RESERVED ${reserved} (blocks never carved); the list is cut there`, page: p.r, pointer: b });
        return { count, intact: false };
      }
      if (seen[idx] !== 0) {
        if (seen[idx] === mark) {
          report({ kind: `${list}-cycle`, message: `${this.smallName(p)}: ${where} is ${hex(b)} (block ${idx}), already on the list: the ${listName} loops after ${count} blocks (a double free?)`, page: p.r, pointer: b });
        } else {
          report({ kind: "thread-free-duplicate", message: `${this.smallName(p)}: block ${hex(b)} (block ${idx}) is on both the free list and the thread-free list (a double free by two workers?)`, page: p.r, pointer: b });
        }
        return { count, intact: false };
      }
      seen[idx] = mark;
      count++;
      from = b;
      b = i32[b >>> 2]! >>> 0;
    }
    return { count, intact: true };
  }

  /** Checked mode: the trailer and canary of the live block at `b` of usable size `size`. */
  private checkLiveBlock(b: number, size: number, name: string, r: number): void {
    const word = this.i32[trailerWord(b, size)]!;
    if (word === freeWord(b + size - 4)) {
      const damage = findFreeDamage(this.i32, b, size, this.key, this.checkAll);
      this.report(damage >= 0
        ? {
          kind: "withheld-block",
          message: `${name} at ${hex(b)} is on no free list but carries the free mark, and its free pattern is damaged at byte ${damage}: ` +
            "a block that was written after it was freed and withheld from reuse when that was caught (it stays allocated, its memory lost)",
          page: r,
          pointer: b,
        }
        : {
          kind: "trailer",
          message: `${name} at ${hex(b)} is on no free list but its trailer carries the free mark: a block freed without reaching a list (lost), or a write of exactly that word`,
          page: r,
          pointer: b,
        });
      return;
    }
    const n = decodeSize(b, word);
    if (n > size - CHECK_OVERHEAD) {
      this.report({
        kind: "trailer",
        message: `${name} at ${hex(b)} (${size} usable bytes): its trailer (last word, at ${hex(b + size - 4)}) holds 0x${(word >>> 0).toString(16)}, which decodes to ${n} requested bytes, more than the ${size - CHECK_OVERHEAD} it can hold: a write past the end of this block reached its trailer` +
          (findFreeDamage(this.i32, b, size, this.key, this.checkAll) === size - 4
            ? ". (Its first words hold the free fill: it may also be a freed block whose trailer was overwritten, withheld from reuse when that was caught)"
            : ""),
        page: r,
        pointer: b,
      });
      return;
    }
    const at = findCanaryDamage(this.i32, b, size, n, this.checkAll);
    if (at >= 0 && findFreeDamage(this.i32, b, size, this.key, this.checkAll) === size - 4) {
      // Free key and fill intact, only the trailer changed: a freed block whose free mark was
      // overwritten (withheld when its reuse caught that), the word decoding to a size that fits
      // by chance (odds of about size / 2^32). Its canary was never written: the fill is there.
      this.report({
        kind: "trailer",
        message: `${name} at ${hex(b)}: its trailer holds 0x${(word >>> 0).toString(16)} (it decodes to ${n} requested bytes), but the block holds the free key and fill: a freed block whose trailer was overwritten, withheld from reuse when that was caught`,
        page: r,
        pointer: b,
      });
      return;
    }
    if (at >= 0) {
      this.report({
        kind: "canary",
        message: `${name} at ${hex(b)}, asked for ${n} bytes: a write past its end changed byte ${at} (address ${hex(b + at)}, ${at - n} past the end) to 0x${this.u8[b + at]!.toString(16)}`,
        page: r,
        pointer: b,
      });
    }
  }
}

/** Where a free block was found, by its mark in the page's scratch bitmap. */
const LIST_NAMES = ["", "on its page's free list", "on its page's thread-free list", "in its owner's thread cache"];

/** headKind of a page that is not a span head, and of a head with an unknown class. */
const KIND_NONE = -100;
const KIND_BAD = -101;

function describeKind(cls: number): string {
  if (cls === Kind.FREE) return `${cls} (free)`;
  if (cls === Kind.LARGE) return `${cls} (large)`;
  if (cls >= 0 && cls < NUM_CLASSES) return `${cls} (${CLASS_SIZE[cls]}-byte blocks)`;
  return `${cls} (unknown)`;
}
