/**
 * debug heap — checked mode and route tracing, as a subclass, so that the default Heap's fast
 * paths carry no test for either.
 *
 * Checked mode (checked_blocks.ts has the block format) catches, at the call that does it:
 * double free (also of a block waiting in another worker's thread-free list), interior and
 * foreign pointers, writes past the end of a block (canary verified on free, realloc and by
 * check()), and writes to a freed block (free pattern verified when the block is reused). Every
 * error names the pointer, its page, its size class and the fault. A block found damaged on
 * reuse is withheld (left allocated) so that the heap stays consistent.
 *
 * Tracing logs the route each call takes: fast, refill, new page, new segment, remote, large.
 *
 * Invariants: a DebugHeap in checked mode hands out blocks of at least n + CHECK_OVERHEAD bytes (and
 * at least Checked.MIN_BLOCK)
 * and reports n as their usable size; the heap header says "checked" so that every worker
 * attached to the heap uses the same format.
 */

import { checkAlignment, checkSize, hex } from "./arguments.js";
import {
  CHECK_OVERHEAD, Checked, decodeSize, findCanaryDamage, findFreeDamage, freeWord, isMarkedFree,
  markAllocated, markFree, trailerWord,
} from "./checked_blocks.js";
import { Heap } from "./heap.js";
import { Block, H, Kind, PG, Page } from "./layout.js";
import type { Region } from "./region.js";
import { CLASS_SIZE, MID_MAX, classOf } from "./size_classes.js";

/** What HAKMEM_TRACE / the `trace` option asks for. */
export type TraceMode = "alloc" | "free" | "all";

/** A fault found by checked mode; its message names the pointer, page, class and fault. */
export class HeapCorruptionError extends Error {
  /** "HeapCorruptionError". */
  override name = "HeapCorruptionError";
  constructor(
    message: string,
    /** The block concerned. */
    readonly pointer: number,
    /** What is wrong: "double-free", "overflow", "use-after-free". */
    readonly fault: "double-free" | "overflow" | "use-after-free",
  ) {
    super(message);
  }
}

/** The block size checked mode asks for to serve `n` bytes: room for the canary and the trailer. */
function checkedSize(n: number): number {
  return Math.max(Checked.MIN_BLOCK, n + Checked.OVERHEAD);
}

export class DebugHeap extends Heap {
  private readonly traceAlloc: boolean;
  private readonly traceFree: boolean;
  /** Checked mode without tracing: the lean paths below. */
  private readonly leanAlloc: boolean;
  private readonly leanFree: boolean;
  private readonly log: (line: string) => void;

  /** @internal Use createHeap or attachHeap. */
  constructor(region: Region, trace: TraceMode | undefined, log: (line: string) => void = (line) => console.error(line)) {
    super(region);
    this.traceAlloc = trace === "alloc" || trace === "all";
    this.traceFree = trace === "free" || trace === "all";
    this.leanAlloc = this.checked && !this.traceAlloc;
    this.leanFree = this.checked && !this.traceFree;
    this.log = log;
  }

  /** @internal Checked and traced calls must all reach JS: no fast path in a module's C code. */
  override fastPathWords(): null {
    return null;
  }

  override malloc(size: number): number {
    if (this.leanAlloc && typeof size === "number" && (size >>> 0) === size && size <= MID_MAX - Checked.OVERHEAD) {
      return this.mallocChecked(size, "malloc");
    }
    checkSize(size, "malloc(size)");
    const before = this.traceAlloc ? this.routeState(size) : "";
    const p = this.checked ? this.mallocChecked(size, "malloc") : super.malloc(size);
    if (this.traceAlloc) this.log(`hakmem[t${this.tid}] malloc(${size}) -> ${hex(p)} ${this.route(before)}`);
    return p;
  }

  /**
   * Checked malloc of `n` (checked) bytes: a block of a class straight off the cache, its free
   * key and pattern verified before anything clears them; a large block through malloc.
   */
  private mallocChecked(n: number, fn: string): number {
    if (n > MID_MAX - Checked.OVERHEAD) {
      const p = super.malloc(n + Checked.OVERHEAD);
      if (p !== 0) markAllocated(this.i32, p, this.blockSize(this.spanHead(p)), n, this.checkAll);
      return p;
    }
    const p = this.takeBlock(classOf(checkedSize(n)));
    if (p !== 0) this.handOut(p, n, fn);
    return p;
  }

  override alignedAlloc(alignment: number, size: number): number {
    checkSize(size, "alignedAlloc(alignment, size): size");
    const before = this.traceAlloc ? this.routeState(size) : "";
    // Up to 16 bytes every checked block is aligned (they are 16 bytes at least): the checked
    // malloc, whose reuse verifies the whole free pattern. Above, the block comes through
    // alignedAlloc with its free key cleared.
    const p = !this.checked ? super.alignedAlloc(alignment, size)
      : checkAlignment(alignment, "alignedAlloc(alignment, size): alignment") <= 16 ? this.mallocChecked(size, "alignedAlloc")
      : super.alignedAlloc(alignment, checkedSize(size));
    if (p !== 0 && this.checked && alignment > 16) this.handOut(p, size, "alignedAlloc", false);
    if (this.traceAlloc) this.log(`hakmem[t${this.tid}] alignedAlloc(${alignment}, ${size}) -> ${hex(p)} ${this.route(before)}`);
    return p;
  }

  override free(ptr: number): void {
    if (this.leanFree) {
      // A block of one of this worker's small pages: its trailer and canary are checked inline;
      // anything amiss goes to verifyLive, which names it.
      const e = this.ownBlock(ptr);
      if (e !== 0) {
        const i32 = this.i32;
        const size = CLASS_SIZE[i32[e + PG.CLASS]!]!;
        const t = i32[trailerWord(ptr, size)]!;
        const n = decodeSize(ptr, t);
        if (t === freeWord(ptr + size - 4) || n > size - Checked.OVERHEAD || findCanaryDamage(i32, ptr, size, n, this.checkAll) >= 0) {
          this.verifyLive(ptr, e, size, "free");
        }
        markFree(i32, ptr, size, this.checkAll);
        this.pushOwn(ptr, e); // ownBlock() validated it: no need for free()'s tests again
        return;
      }
    }
    if (ptr === 0) return;
    const e = this.locate(ptr, "free");
    const route = !this.traceFree ? "" : this.i32[e + PG.CLASS] === Kind.LARGE ? "large" : this.i32[e + PG.OWNER] !== this.tid ? "remote" : "fast";
    const pagesBefore = this.i32[this.region.hdr + H.PAGES_IN_USE]!;
    if (this.checked) {
      const size = this.blockSize(e);
      this.verifyLive(ptr, e, size, "free");
      if (this.i32[e + PG.CLASS]! >= 0) markFree(this.i32, ptr, size, this.checkAll);
    }
    super.free(ptr);
    if (this.traceFree) {
      const released = this.i32[this.region.hdr + H.PAGES_IN_USE]! < pagesBefore ? ", page released" : "";
      this.log(`hakmem[t${this.tid}] free(${hex(ptr)}) ${route}${released}`);
    }
  }

  override realloc(ptr: number, size: number): number {
    if (!this.checked) {
      const q = super.realloc(ptr, size);
      if (this.traceAlloc) this.log(`hakmem[t${this.tid}] realloc(${hex(ptr)}, ${size}) -> ${hex(q)}${q === ptr ? " in place" : ""}`);
      return q;
    }
    if (ptr === 0) return this.malloc(size);
    checkSize(size, "realloc(ptr, size): size");
    const e = this.locate(ptr, "realloc");
    const have = this.verifyLive(ptr, e, this.blockSize(e), "realloc");
    if (size === 0) {
      this.free(ptr);
      return 0;
    }
    // Checked mode always moves the block, so that stale pointers to it are caught.
    const q = this.malloc(size);
    if (q === 0) return 0;
    this.bytes.copyWithin(q, ptr, ptr + Math.min(have, size));
    this.free(ptr);
    return q;
  }

  override usableSize(ptr: number): number {
    if (!this.checked || ptr === 0) return super.usableSize(ptr);
    const e = this.locate(ptr, "usableSize");
    return this.verifyLive(ptr, e, this.blockSize(e), "usableSize");
  }

  protected override blockContaining(ptr: number): [number, number] {
    const [start, size] = super.blockContaining(ptr);
    if (!this.checked) return [start, size];
    const e = this.locate(start, "view");
    return [start, this.verifyLive(start, e, size, "view")];
  }

  /** Usable bytes of the block whose span head entry is `e`. */
  private blockSize(e: number): number {
    const cls = this.i32[e + PG.CLASS]!;
    return cls >= 0 ? CLASS_SIZE[cls]! : this.i32[e + PG.PAGES]! * Page.SIZE;
  }

  /** "page 12, class 64 B" for the block at `p` whose span head entry is `e`. */
  private where(p: number, e: number): string {
    const page = (p >>> Page.SHIFT) - this.region.firstPage;
    const cls = this.i32[e + PG.CLASS]!;
    return `page ${page}, ${cls >= 0 ? `class ${CLASS_SIZE[cls]} B` : `large block of ${this.i32[e + PG.PAGES]} pages`}`;
  }

  /**
   * Checks that the block at `p` (head entry `e`, `size` usable bytes) is allocated and its
   * canary intact; returns the size it was asked for.
   * @throws HeapCorruptionError naming the fault.
   */
  private verifyLive(p: number, e: number, size: number, fn: string): number {
    const i32 = this.i32;
    if (isMarkedFree(i32, p, size)) {
      if (fn !== "free") {
        throw new HeapCorruptionError(`hakmem: ${fn}(${hex(p)}): use after free: the block is free (${this.where(p, e)})`, p, "use-after-free");
      }
      throw new HeapCorruptionError(
        `hakmem: ${fn}(${hex(p)}): double free: the block is already free (${this.where(p, e)}); it was freed before, possibly by another worker`,
        p,
        "double-free",
      );
    }
    const n = decodeSize(p, i32[trailerWord(p, size)]!);
    if (n > size - CHECK_OVERHEAD) {
      throw new HeapCorruptionError(
        `hakmem: ${fn}(${hex(p)}): write past the end of the block: its trailer at byte ${size - 4} was overwritten (${this.where(p, e)}, ${size - CHECK_OVERHEAD} bytes usable)`,
        p,
        "overflow",
      );
    }
    const at = findCanaryDamage(i32, p, size, n, this.checkAll);
    if (at >= 0) {
      throw new HeapCorruptionError(
        `hakmem: ${fn}(${hex(p)}): write past the end of the block: ${n} bytes were asked for and byte ${at} (${at - n} past the end) was changed to 0x${this.bytes[p + at]!.toString(16)} (${this.where(p, e)})`,
        p,
        "overflow",
      );
    }
    return n;
  }

  /** Head entry of the span holding `p`. */
  private spanHead(p: number): number {
    return this.i32[this.region.entryOf(p)]!;
  }

  /**
   * Verifies a free block about to be handed out for `n` bytes (its free key too, unless
   * `keyInPlace` is false: the block came through a path that cleared it), then clears the key
   * and writes its canary and trailer.
   */
  private handOut(p: number, n: number, fn: string, keyInPlace = true): void {
    const i32 = this.i32;
    const e = this.spanHead(p);
    const cls = i32[e + PG.CLASS]!;
    const size = cls >= 0 ? CLASS_SIZE[cls]! : this.blockSize(e);
    if (keyInPlace && cls >= 0 && !this.cache.headIsBlock(cls)) {
      throw new HeapCorruptionError(
        `hakmem: ${fn}: the free block at ${hex(p)} was written after it was freed (its link, bytes 0–3, now leads to ${hex(i32[p >>> 2]! >>> 0)}, not a free block of its class; ${this.where(p, e)}); it and the blocks cached after it are withheld from use`,
        p,
        "use-after-free",
      );
    }
    if (cls >= 0) {
      if (!keyInPlace) i32[(p >>> 2) + Block.KEY] = this.key;
      const at = findFreeDamage(i32, p, size, this.key, this.checkAll);
      if (at >= 0) {
        throw new HeapCorruptionError(
          `hakmem: ${fn}: the free block at ${hex(p)} was written after it was freed (byte ${at} changed; ${this.where(p, e)}); it is withheld from use`,
          p,
          "use-after-free",
        );
      }
    }
    if (cls >= 0) i32[(p >>> 2) + Block.KEY] = 0;
    markAllocated(i32, p, size, n, this.checkAll);
  }

  private growthsBefore = 0;
  private pagesBefore = 0;

  /** Reads what an allocation of `size` bytes will show, to name its route after it. */
  private routeState(size: number): string {
    const n = this.checked ? checkedSize(size) : size;
    if (n > MID_MAX) return "large";
    const i32 = this.i32;
    this.growthsBefore = i32[this.region.hdr + H.GROWTHS]!;
    this.pagesBefore = i32[this.region.hdr + H.PAGES_IN_USE]!;
    return this.cache.length(classOf(n)) !== 0 ? "fast" : "";
  }

  private route(before: string): string {
    if (before !== "") return before;
    const i32 = this.i32;
    if (i32[this.region.hdr + H.GROWTHS] !== this.growthsBefore) return "new segment";
    return i32[this.region.hdr + H.PAGES_IN_USE] !== this.pagesBefore ? "new page" : "refill";
  }
}
