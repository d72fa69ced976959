/**
 * checked fuzz — long random sequences of malloc / calloc / realloc / alignedAlloc / free against a
 * model of the live blocks, with bad operations mixed in, on a heap in checked mode; one thread,
 * with one or two thread heaps (attachHeap in the same thread: remote frees, double frees across
 * workers). Run by `npm run fuzz` (test/fuzz.ts).
 *
 * What it asserts:
 * - good operations: every live block keeps its pattern (sparse: patterns.ts) over the bytes it
 *   asked for, verified before it is freed or moved and for all blocks at every full check;
 *   calloc gives zeros; realloc keeps the common prefix; alignedAlloc aligns; usableSize is the
 *   requested size; 0 only when the heap is full;
 * - bad operations throw the right error at the faulty call, naming the pointer in hex, and leave
 *   the heap as it was:
 *   - double free, also of a block the other thread heap freed onto a thread-free list
 *     (HeapCorruptionError "double-free"; a RangeError for a large block, whose pages went back);
 *   - a free of an interior pointer of a live block (RangeError);
 *   - a free of a pointer in the metadata, past the region, anywhere in the mapped data that is no
 *     live block (RangeError, or HeapCorruptionError "double-free" where a free block starts), or
 *     of a wrong type (RangeError / TypeError);
 *   - a write past the end of a block, into its canary or its trailer: the next free, realloc or
 *     usableSize of it throws HeapCorruptionError "overflow", and check() names it; the byte is
 *     then restored;
 *   - a write to a freed block: check() names it ("free-pattern"), and its reuse by malloc throws
 *     HeapCorruptionError "use-after-free", after which the heap withholds the block.
 *   (check() right after such a fault, to see it named alone, runs at most once per interval of
 *   the full checks: targetedCheck.)
 * - the full check, every K operations (common.ts CheckSchedule): check() is clean but for the
 *   withheld blocks, each of which it names; walk() visits exactly the model's blocks with their
 *   requested sizes, and no two overlap; stats() counts exactly them (blocks and usable bytes).
 *
 * Withheld blocks are bounded: the fuzz keeps a copy of a block's bytes from before the free that
 * it damages; once a full check has named the withheld block, it writes the copy back (the block
 * is then an intact allocated block, as before its free) and takes it into the model again, to be
 * freed like any other. A full check comes early when WITHHELD_CAP blocks are withheld.
 *
 * What checked mode guarantees is taken from docs/DESIGN.md ("Checked mode"), not from its
 * source: a request of n bytes takes the block a request of n + 8 (at least 16) takes in default
 * mode, up to 8 canary bytes follow the request, the trailer is the last word, and a freed block's
 * pattern covers bytes 4–19 and the last word. The bad operations that need a block's extent
 * (overflow into the trailer, write after free) take its usable size from a default-mode heap
 * (usableOf), and every full check compares those sizes with walk()'s.
 *
 * Every operation's choices come from the seed alone (never from a pointer's value), so a run
 * replays exactly: a failure prints the command that repeats it up to the failing operation.
 */

import { attachHeap, createHeap, HeapCorruptionError, MID_MAX, type Heap } from "../../src/index.js";
import { fillSparse, findNonZero, findSparseMismatch } from "../patterns.js";
import { BAD_POINTERS, CheckSchedule, FuzzFailure, Recent, expectError, fail, formatCounts, hex, randomSize, rng, type FuzzSummary } from "./common.js";

export interface CheckedFuzzOptions {
  /** Operations to run (Infinity: until `seconds` are up). */
  ops: number;
  /** Stop after this many seconds, if given (1,024 operations at least). */
  seconds?: number;
  seed: number;
  /** A full check every this many ops; 0: auto (CheckSchedule). */
  checkEvery: number;
  /** Share of operations that are bad ones. */
  badRate: number;
  /** 2: a second thread heap on the same buffer allocates and frees some blocks. */
  workers: 1 | 2;
  maxBytes: number;
  /** At this op, damage a byte of a live block, as a heap bug would (to test the fuzz itself). */
  injectFault?: number;
  /** Progress lines, about every 10 s (none when omitted). */
  log?: (line: string) => void;
}

export const CHECKED_DEFAULTS: CheckedFuzzOptions = { ops: 20_000, seed: 1, checkEvery: 0, badRate: 0.06, workers: 2, maxBytes: 96 << 20 };

/** Checked mode's block format as docs/DESIGN.md states it. */
const enum CheckedBlock {
  /** A request of n bytes takes the block of a request of n + OVERHEAD (at least 16) in default mode. */
  OVERHEAD = 8,
  /** Canary bytes behind the request, at most (fewer when the trailer comes first). */
  CANARY = 8,
  /** A freed block's pattern: bytes 4 (the free key) to FREE_END, and the last word. */
  FREE_START = 4,
  FREE_END = 20,
}

/** Blocks withheld at once, at most: a full check (which repairs them) comes when there are this many. */
const WITHHELD_CAP = 256;
/** Live blocks the mix of operations aims at. */
const TARGET_LIVE = 400;

interface Live {
  /** Requested bytes (the pattern covers them). */
  n: number;
  id: number;
  /** Allocated through the second thread heap (its pages). */
  viaOther: boolean;
  /** Usable bytes of its block (usableOf; each full check compares them with walk()'s). */
  usable: number;
  /** Index in `ptrs`. */
  at: number;
}

/** A block withheld by checked mode, with its bytes from before the free the fuzz damaged. */
interface Withheld {
  bytes: Uint8Array;
  n: number;
  id: number;
}

/** Runs one checked-mode fuzz session. Never throws: failures are in the summary. */
export function runCheckedFuzz(options: Partial<CheckedFuzzOptions> = {}): FuzzSummary {
  const o: CheckedFuzzOptions = { ...CHECKED_DEFAULTS, ...options };
  return new CheckedFuzz(o).run();
}

class CheckedFuzz {
  private readonly rand: () => number;
  private readonly heap: Heap;
  private readonly other: Heap;
  /** A default-mode heap that tells which block the checked heap takes for a request (usableOf). */
  private readonly oracle: Heap;
  private readonly live = new Map<number, Live>();
  private readonly ptrs: number[] = [];
  private readonly withheld = new Map<number, Withheld>();
  private readonly counts: Record<string, number> = {};
  private readonly recent = new Recent();
  private readonly schedule: CheckSchedule;
  private nextId = 0;
  private liveBytes = 0;
  private op = 0;
  private exhausted = 0;
  private walks = 0;
  private peakLive = 0;
  private peakLiveBytes = 0;
  private peakWithheld = 0;
  private repaired = 0;
  /** Checks that named the fault of a bad operation, and the op from which the next may run. */
  private targeted = 0;
  private nextTargeted = 0;

  constructor(private readonly o: CheckedFuzzOptions) {
    this.rand = rng(o.seed);
    this.heap = createHeap({ maxBytes: o.maxBytes, shared: true, check: true });
    this.other = o.workers === 2 ? attachHeap(this.heap.handle()) : this.heap;
    this.oracle = createHeap({ maxBytes: 64 << 20 });
    this.schedule = new CheckSchedule(o.checkEvery);
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private count(k: string): void {
    this.counts[k] = (this.counts[k] ?? 0) + 1;
  }

  run(): FuzzSummary {
    const o = this.o;
    const t0 = performance.now();
    const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
    let nextLog = t0 + 10_000;
    let failure = "";
    let running = true;
    try {
      for (this.op = 0; this.op < o.ops; this.op++) {
        if ((this.op & 1023) === 0 && this.op > 0 && performance.now() > deadline) break; // 1024 ops at least
        this.step();
        if (this.schedule.due(this.op + 1) || this.withheld.size >= WITHHELD_CAP) {
          const start = performance.now();
          const mapped = this.sweep(`after op ${this.op}`);
          this.schedule.done(this.op + 1, start, mapped);
          if (o.log && performance.now() > nextLog) {
            nextLog = performance.now() + 10_000;
            o.log(`  ${this.op + 1} ops, ${this.live.size} live blocks (${(this.liveBytes / 1048576).toFixed(1)} MiB), ${this.repaired} withheld blocks repaired, ${this.schedule.checks} checks (${this.schedule.describe()}), ${((performance.now() - t0) / 1000).toFixed(0)} s`);
          }
        }
      }
      running = false;
      this.finish();
    } catch (e) {
      const what = e instanceof FuzzFailure ? e.message : `unexpected ${(e as Error)?.stack ?? e}`;
      failure = `FAILED ${running ? `at op ${this.op}` : `at the end, after ${this.op} ops`} (seed ${o.seed}, checked mode): ${what}\nlast operations:\n  ${this.recent.lines().join("\n  ")}`;
    }
    const ms = performance.now() - t0;
    // A failure at op k replays with k + 1 ops (then the final check); one at the end with all.
    const ops = failure !== "" && running ? this.op + 1 : this.op;
    return {
      mode: "checked",
      ok: failure === "",
      seed: o.seed,
      ops,
      workers: o.workers,
      terminations: 0,
      checks: this.schedule.checks,
      checkMs: this.schedule.checkMs,
      ms,
      failure,
      replay: failure === "" ? "" : replayCommand({ ...o, ops }),
      counts: this.counts,
      figures: {
        exhausted: this.exhausted, walks: this.walks, targetedChecks: this.targeted, peakLive: this.peakLive, peakLiveBytes: this.peakLiveBytes,
        withheldRepaired: this.repaired, peakWithheld: this.peakWithheld,
      },
      details: [
        `thread heaps: ${o.workers} in one thread; bad rate ${o.badRate}; max ${o.maxBytes / 1048576} MiB; checks ${this.schedule.describe()}, ${this.walks} walks, ` +
          `${this.targeted} checks that named a bad operation's fault`,
        `${this.exhausted} allocations refused (heap full); peak ${this.peakLive} live blocks / ${(this.peakLiveBytes / 1048576).toFixed(1)} MiB; ` +
          `${this.repaired} withheld blocks repaired after their check (at most ${this.peakWithheld} withheld at once)`,
        ...formatCounts(this.counts),
      ],
    };
  }

  /** One operation, chosen by the generator. */
  private step(): void {
    const o = this.o;
    if (this.op === o.injectFault) this.injectFault();
    const u = this.rand();
    if (this.ptrs.length > 0 && u < o.badRate) {
      const b = this.rand();
      if (b < 0.2) this.badDoubleFree();
      else if (b < 0.35) this.badInterior();
      else if (b < 0.55) this.badForeign();
      else if (b < 0.6) this.badType();
      else if (b < 0.8) this.badOverflow();
      else this.badWriteAfterFree();
      return;
    }
    const pAlloc = Math.max(0.1, Math.min(0.9, 0.5 + (TARGET_LIVE - this.ptrs.length) / (2 * TARGET_LIVE)));
    const g = this.rand();
    if (this.ptrs.length === 0 || g < pAlloc) {
      const a = this.rand();
      if (a < 0.8) this.doMalloc();
      else if (a < 0.9) this.doCalloc();
      else this.doAligned();
    } else if (g < pAlloc + (1 - pAlloc) * 0.25) {
      this.doRealloc();
    } else {
      this.doFree();
    }
  }

  // ─── The model ─────────────────────────────────────────────────────────────────────────

  private add(p: number, n: number, viaOther: boolean, usable: number, id = ++this.nextId): void {
    if (this.live.has(p) || this.withheld.has(p)) fail(`${hex(p)} handed out while still live${this.withheld.has(p) ? " (withheld)" : ""}`);
    fillSparse(this.heap.u8, p, n, id);
    this.live.set(p, { n, id, viaOther, usable, at: this.ptrs.length });
    this.ptrs.push(p);
    this.liveBytes += n;
    this.peakLive = Math.max(this.peakLive, this.live.size);
    this.peakLiveBytes = Math.max(this.peakLiveBytes, this.liveBytes);
  }

  private remove(p: number): Live {
    const m = this.live.get(p)!;
    const last = this.ptrs.pop()!;
    if (last !== p) {
      this.ptrs[m.at] = last;
      this.live.get(last)!.at = m.at;
    }
    this.live.delete(p);
    this.liveBytes -= m.n;
    return m;
  }

  private randomLive(): number {
    return this.ptrs[this.int(this.ptrs.length)]!;
  }

  /**
   * Usable bytes of the block the checked heap takes for `n` bytes at `align`: the block a
   * default-mode heap gives for the request plus the checked-mode overhead (at least 16 bytes),
   * as docs/DESIGN.md states it. Every full check compares it with what walk() reports.
   */
  private usableOf(n: number, align: number): number {
    const s = Math.max(16, n + CheckedBlock.OVERHEAD);
    const p = align > 16 ? this.oracle.alignedAlloc(align, s) : this.oracle.malloc(s);
    if (p === 0) throw new Error(`the oracle heap could not allocate ${s} bytes`);
    const u = this.oracle.usableSize(p);
    this.oracle.free(p);
    return u;
  }

  /** A live block that `ok` accepts, or 0. */
  private randomSuch(ok: (m: Live) => boolean): number {
    for (let tries = 0; tries < 8; tries++) {
      const p = this.randomLive();
      if (ok(this.live.get(p)!)) return p;
    }
    return 0;
  }

  private verify(p: number, what: string): void {
    const b = this.live.get(p)!;
    const at = findSparseMismatch(this.heap.u8, p, b.n, b.id);
    if (at >= 0) fail(`${what}: live block ${hex(p)} (${b.n} bytes, id ${b.id}) lost its data at byte ${at}`);
  }

  private checkNew(p: number, n: number, align: number, what: string): void {
    if (p % align !== 0) fail(`${what} returned ${hex(p)}, not ${align}-aligned`);
    const u = this.heap.usableSize(p);
    if (u !== n) fail(`${what}: usableSize(${hex(p)}) is ${u}, expected ${n} (checked mode reports the request)`);
  }

  /** check(), which must find exactly the withheld blocks, or exactly the one `expect` names. */
  private runCheck(when: string, expect?: { kinds: string[]; pointer: number }): void {
    const rep = this.heap.check();
    // A withheld block is named "withheld-block", or "trailer" when its trailer was the damage
    // (nothing then tells it from a live block whose trailer was overwritten).
    const isWithheld = (q: { kind: string; pointer?: number }) => (q.kind === "withheld-block" || q.kind === "trailer") && this.withheld.has(q.pointer!);
    const problems = rep.problems.filter((q) => !isWithheld(q));
    const show = (qs: typeof problems) => qs.slice(0, 10).map((q) => `[${q.kind}] ${q.message}`).join("\n  ") || "(none)";
    if (Object.keys(rep.omitted).length > 0) fail(`check() ${when}: the report was cut (${JSON.stringify(rep.omitted)}); ${this.withheld.size} blocks are withheld:\n  ${show(problems)}`);
    if (expect === undefined) {
      if (problems.length > 0) fail(`check() ${when}: ${problems.length} problems:\n  ${show(problems)}`);
      const named = rep.problems.length - problems.length;
      if (named !== this.withheld.size) fail(`check() ${when}: named ${named} of the ${this.withheld.size} withheld blocks`);
      if (rep.liveBlocks !== this.live.size + this.withheld.size) fail(`check() ${when}: liveBlocks ${rep.liveBlocks}, the model has ${this.live.size} (+ ${this.withheld.size} withheld)`);
    } else if (!(problems.length === 1 && expect.kinds.includes(problems[0]!.kind) && problems[0]!.pointer === expect.pointer)) {
      fail(`check() ${when}: expected one problem of kind ${expect.kinds.join(" or ")} at ${hex(expect.pointer)}, got:\n  ${show(problems)}`);
    }
  }

  /**
   * check() right after a bad operation, which must name its fault and nothing else; at most one
   * per interval of the full checks (a check costs what a full check's check() does, and the bad
   * operations that ask for one are 1.5 % of all: unbounded, they took most of a run's time).
   */
  private targetedCheck(when: string, expect: { kinds: string[]; pointer: number }): void {
    if (this.op < this.nextTargeted) return;
    this.nextTargeted = this.op + this.schedule.interval;
    this.targeted++;
    this.runCheck(when, expect);
  }

  /**
   * The full check: every block's pattern, check(), walk() against the model (sizes, usable
   * sizes, no overlap), stats() against the model; then the withheld blocks are repaired.
   * Returns the heap's mapped bytes.
   */
  private sweep(when: string): number {
    for (const p of this.ptrs) this.verify(p, when);
    this.runCheck(when);
    this.walks++;
    let seen = 0;
    let usableSum = 0;
    let prevEnd = 0;
    let prev = 0;
    this.heap.walk((b) => {
      if (b.ptr < prevEnd) fail(`walk() ${when}: ${hex(b.ptr)} starts inside the block at ${hex(prev)}, which ends at ${hex(prevEnd)}`);
      prev = b.ptr;
      prevEnd = b.ptr + b.usable;
      usableSum += b.usable;
      if (this.withheld.has(b.ptr)) return;
      const m = this.live.get(b.ptr);
      if (m === undefined) fail(`walk() ${when}: visited ${hex(b.ptr)}, which is not live`);
      if (b.size !== m.n) fail(`walk() ${when}: ${hex(b.ptr)} has size ${b.size}, asked for ${m.n}`);
      if (m.usable !== b.usable) {
        fail(`walk() ${when}: ${hex(b.ptr)} (asked for ${m.n} bytes) has ${b.usable} usable bytes; a default-mode heap gives ${m.usable} for ${m.n} + ${CheckedBlock.OVERHEAD} (checked mode's overhead)`);
      }
      seen++;
    });
    if (seen !== this.live.size) fail(`walk() ${when}: visited ${seen} live blocks, the model has ${this.live.size}`);
    const st = this.heap.stats();
    if (st.liveBlocks !== this.live.size + this.withheld.size || st.liveBytes !== usableSum) {
      fail(`stats() ${when}: ${st.liveBlocks} live blocks of ${st.liveBytes} usable bytes; the model has ${this.live.size} blocks + ${this.withheld.size} withheld, walk() ${usableSum} usable bytes`);
    }
    this.peakWithheld = Math.max(this.peakWithheld, this.withheld.size);
    for (const [p, w] of this.withheld) {
      this.heap.u8.set(w.bytes, p);
      this.withheld.delete(p);
      this.add(p, w.n, false, w.bytes.length, w.id);
      this.verify(p, `repaired withheld block ${hex(p)}`);
      this.repaired++;
    }
    return st.mappedBytes;
  }

  /** At the end: free everything, collect; the heap must be empty and clean. */
  private finish(): void {
    this.sweep("at the end");
    while (this.ptrs.length > 0) this.doFree();
    this.heap.collect();
    this.runCheck("after freeing everything");
    const st = this.heap.stats();
    if (st.liveBlocks !== 0) fail(`stats() after freeing everything: ${st.liveBlocks} live blocks`);
    if (this.other !== this.heap) {
      this.other.dispose();
      this.runCheck("after the other thread heap left");
    }
  }

  /**
   * Damages a byte of a live block's data, which nothing in the heap would notice: in the first
   * live block with data from a random one on (the verification covers its first 256 bytes).
   */
  private injectFault(): void {
    const start = this.int(this.ptrs.length);
    let p = 0;
    for (let k = 0; k < this.ptrs.length && p === 0; k++) {
      const q = this.ptrs[(start + k) % this.ptrs.length]!;
      if (this.live.get(q)!.n > 0) p = q;
    }
    if (p === 0) fail("--inject-fault: no live block with data to damage");
    const m = this.live.get(p)!;
    const at = this.int(Math.min(m.n, 256));
    this.heap.u8[p + at]! ^= 0x5a;
    this.recent.add("injected fault: a byte of the block changed", this.op, p, at);
  }

  // ─── Good operations ───────────────────────────────────────────────────────────────────

  private doMalloc(): void {
    const n = randomSize(this.rand, CheckedBlock.OVERHEAD);
    const viaOther = this.o.workers === 2 && this.rand() < 0.1;
    const p = (viaOther ? this.other : this.heap).malloc(n);
    this.recent.add(viaOther ? "other.malloc" : "malloc", this.op, p, n);
    this.count("malloc");
    if (p === 0) {
      this.exhausted++;
      return;
    }
    this.checkNew(p, n, n >= 16 ? 16 : 8, "malloc");
    this.add(p, n, viaOther, this.usableOf(n, 8));
  }

  private doCalloc(): void {
    const size = 1 + this.int(64);
    const cnt = this.int(200);
    const p = this.heap.calloc(cnt, size);
    this.recent.add("calloc", this.op, p, cnt * size);
    this.count("calloc");
    if (p === 0) {
      this.exhausted++;
      return;
    }
    const z = findNonZero(this.heap.u8, p, cnt * size);
    if (z >= 0) fail(`calloc(${cnt}, ${size}) -> ${hex(p)}: byte ${z} is not zero`);
    this.checkNew(p, cnt * size, 8, "calloc");
    this.add(p, cnt * size, false, this.usableOf(cnt * size, 8));
  }

  private doAligned(): void {
    const a = 2 ** this.int(17);
    const n = this.int(this.rand() < 0.9 ? 3000 : 300_000);
    const p = this.heap.alignedAlloc(a, n);
    this.recent.add(`alignedAlloc(${a})`, this.op, p, n);
    this.count("alignedAlloc");
    if (p === 0) {
      this.exhausted++;
      return;
    }
    this.checkNew(p, n, a, `alignedAlloc(${a}, ${n})`);
    this.add(p, n, false, this.usableOf(n, a));
  }

  private doRealloc(): void {
    const p = this.randomLive();
    const old = this.live.get(p)!;
    this.verify(p, "before realloc");
    const n = this.rand() < 0.1 ? 0 : randomSize(this.rand, CheckedBlock.OVERHEAD);
    const q = this.heap.realloc(p, n);
    this.recent.add(`realloc to ${hex(q)}`, this.op, p, n);
    this.count("realloc");
    if (n === 0) {
      if (q !== 0) fail(`realloc(${hex(p)}, 0) returned ${hex(q)}, expected 0`);
      this.remove(p);
      return;
    }
    if (q === 0) {
      this.exhausted++;
      this.verify(p, "after a failed realloc");
      return;
    }
    const keep = Math.min(old.n, n);
    const at = findSparseMismatch(this.heap.u8, q, old.n, old.id, keep);
    if (at >= 0) fail(`realloc(${hex(p)}, ${n}) -> ${hex(q)}: byte ${at} of the ${keep} kept bytes differs`);
    this.remove(p);
    this.checkNew(q, n, 8, "realloc");
    this.add(q, n, false, this.usableOf(n, 8));
  }

  private doFree(): void {
    const p = this.randomLive();
    this.verify(p, "before free");
    // A tenth of the frees come from the other thread heap (remote frees onto thread-free lists).
    const remote = this.o.workers === 2 && this.rand() < 0.1;
    (remote ? this.other : this.heap).free(p);
    this.recent.add(remote ? "other.free" : "free", this.op, p);
    this.count(remote ? "free(remote)" : "free");
    this.remove(p);
  }

  // ─── Bad operations ────────────────────────────────────────────────────────────────────

  private badDoubleFree(): void {
    const p = this.randomLive();
    const m = this.live.get(p)!;
    this.verify(p, "before free");
    const remote = this.o.workers === 2 && this.rand() < 0.3;
    (remote ? this.other : this.heap).free(p);
    this.remove(p);
    this.recent.add(remote ? "other.free, then free again" : "free, then free again", this.op, p);
    // A block of a small page carries the free mark: "double-free". A large block's pages went
    // back to the spans, and so did a small page whose last block this was (classes the thread
    // cache does not keep): a RangeError, as for any pointer that is no block.
    const what = `second free(${hex(p)})`;
    const e = expectError(what, p, m.usable > MID_MAX ? [RangeError] : [HeapCorruptionError, RangeError], () => this.heap.free(p));
    if (e instanceof HeapCorruptionError) {
      if (e.fault !== "double-free" || e.pointer !== p) fail(`${what}: fault "${e.fault}" at ${hex(e.pointer)}, expected "double-free" at ${hex(p)}`);
      this.count(remote ? "bad:double-free(after remote free)" : "bad:double-free");
    } else {
      this.count(m.usable > MID_MAX ? "bad:double-free(large block)" : "bad:double-free(page released)");
    }
  }

  private badInterior(): void {
    const p = this.randomLive();
    const q = p + 1 + this.int(this.live.get(p)!.usable - 1);
    this.recent.add("free of an interior pointer", this.op, q);
    this.count("bad:interior");
    expectError(`free of the interior pointer ${hex(q)} of ${hex(p)}`, q, [RangeError], () => this.heap.free(q));
  }

  private badForeign(): void {
    const u = this.rand();
    const st = this.heap.stats();
    let q: number;
    if (u < 0.15) q = 8 + 8 * this.int(st.metadataBytes / 8 - 1); // the metadata before the data pages
    else if (u < 0.3) q = this.o.maxBytes + 8 * this.int(1 << 20); // past the region
    else if (u < 0.35) q = 0xfffffff8;
    else {
      q = st.metadataBytes + 8 * this.int((st.mappedBytes - st.metadataBytes) / 8);
      if (this.live.has(q) || this.withheld.has(q)) return; // a live block: no bad pointer
    }
    this.recent.add("free of a foreign pointer", this.op, q);
    // Where a free block starts, checked mode finds its free mark: a double free.
    const e = expectError(`free of ${hex(q)} (no live block)`, q, [RangeError, HeapCorruptionError], () => this.heap.free(q));
    if (e instanceof HeapCorruptionError) {
      if (e.fault !== "double-free") fail(`free of ${hex(q)} (no live block): fault "${e.fault}", expected "double-free" or a RangeError`);
      this.count("bad:foreign(free block)");
    } else {
      this.count(u < 0.35 ? "bad:foreign(outside)" : "bad:foreign(no block)");
    }
  }

  private badType(): void {
    const [v, type] = BAD_POINTERS[this.int(BAD_POINTERS.length)]!;
    this.recent.add(`free(${String(v)})`, this.op);
    this.count("bad:type");
    expectError(`free(${String(v)})`, undefined, [type], () => this.heap.free(v as number));
  }

  private badOverflow(): void {
    const p = this.randomLive();
    const m = this.live.get(p)!;
    // The canary covers [n, min(n + CANARY, usable − 4)); the trailer [usable − 4, usable). In
    // the trailer, only its top byte: the decoded size is then impossible (>= 2^24), where a
    // change of a low byte may decode to another plausible size whose canary happens to hold.
    const canaryEnd = Math.min(m.n + CheckedBlock.CANARY, m.usable - 4);
    const inTrailer = canaryEnd <= m.n || this.rand() < 0.25;
    const at = inTrailer ? m.usable - 1 : m.n + this.int(canaryEnd - m.n);
    const u8 = this.heap.u8;
    const saved = u8[p + at]!;
    u8[p + at] = saved ^ (1 + this.int(255));
    this.recent.add(`write past the end, at +${at}`, this.op, p, m.n);
    this.count(inTrailer ? "bad:overflow(trailer)" : "bad:overflow(canary)");
    if (this.rand() < 0.3) this.targetedCheck(`after a write past the end of ${hex(p)}`, { kinds: inTrailer ? ["trailer"] : ["canary"], pointer: p });
    const u = this.rand();
    const fn = u < 0.6 ? "free" : u < 0.8 ? "realloc" : "usableSize";
    const e = expectError(`${fn}(${hex(p)}) after a write ${at - m.n} bytes past its end`, p, [HeapCorruptionError], () => {
      if (fn === "free") this.heap.free(p);
      else if (fn === "realloc") this.heap.realloc(p, m.n + 100);
      else this.heap.usableSize(p);
    }) as HeapCorruptionError;
    if (e.fault !== "overflow" || e.pointer !== p) fail(`${fn}(${hex(p)}) after a write past its end: fault "${e.fault}" at ${hex(e.pointer)}, expected "overflow"`);
    u8[p + at] = saved;
    this.verify(p, "after an overflow was caught");
  }

  private badWriteAfterFree(): void {
    // A small block of the first thread heap, which its mallocs reuse (the other's pages are not theirs).
    const p = this.randomSuch((m) => m.usable <= MID_MAX && !m.viaOther);
    if (p === 0) return;
    const m = this.live.get(p)!;
    const size = m.usable;
    this.verify(p, "before free");
    const bytes = this.heap.u8.slice(p, p + size);
    this.heap.free(p);
    this.remove(p);
    // Still a free block of its page (usableSize finds its free mark), or its page went back to
    // the spans (a class the thread cache does not keep): then there is nothing to damage.
    const e = expectError(`usableSize(${hex(p)}) of a freed block`, p, [HeapCorruptionError, RangeError], () => this.heap.usableSize(p));
    if (e instanceof RangeError) {
      this.count("bad:write-after-free(page released)");
      return;
    }
    if ((e as HeapCorruptionError).fault !== "use-after-free") fail(`usableSize(${hex(p)}) of a freed block: fault "${(e as HeapCorruptionError).fault}", expected "use-after-free"`);
    const spots: number[] = [];
    for (let b = CheckedBlock.FREE_START; b < Math.min(CheckedBlock.FREE_END, size - 4); b++) spots.push(b);
    for (let b = size - 4; b < size; b++) spots.push(b);
    const at = spots[this.int(spots.length)]!;
    const u8 = this.heap.u8;
    const saved = u8[p + at]!;
    u8[p + at] = saved ^ (1 + this.int(255));
    this.recent.add(`free, then write at +${at}`, this.op, p, m.n);
    this.targetedCheck(`after a write to the freed block ${hex(p)}`, { kinds: ["free-pattern"], pointer: p });
    if (this.rand() < 0.5) {
      u8[p + at] = saved;
      this.count("bad:write-after-free(caught by check)");
      return;
    }
    // Reuse: allocations of the same class until the damaged block comes up (the thread cache
    // is LIFO: the first, unless the free drained it), or until it has surely been passed over.
    const n = size - CheckedBlock.OVERHEAD;
    for (let tries = 0; tries < 4; tries++) {
      let q = 0;
      let err: unknown;
      try {
        q = this.heap.malloc(n);
      } catch (e) {
        err = e;
      }
      if (err !== undefined) {
        const e = expectError(`malloc(${n}) reusing the damaged block ${hex(p)}`, p, [HeapCorruptionError], () => {
          throw err;
        }) as HeapCorruptionError;
        if (e.fault !== "use-after-free" || e.pointer !== p) fail(`malloc(${n}) reusing ${hex(p)}: fault "${e.fault}" at ${hex(e.pointer)}, expected "use-after-free"`);
        this.withheld.set(p, { bytes, n: m.n, id: m.id });
        this.count("bad:write-after-free(caught at reuse)");
        return;
      }
      this.recent.add("malloc while looking for the damaged block", this.op, q, n);
      if (q === 0) break;
      if (q === p) fail(`malloc(${n}) handed out ${hex(p)}, damaged after it was freed, without an error`);
      this.add(q, n, false, size);
    }
    // Not reused yet: repair it so the heap is clean again.
    u8[p + at] = saved;
    this.count("bad:write-after-free(not reused, repaired)");
  }
}

/** The command that repeats a checked run with these options. */
function replayCommand(o: CheckedFuzzOptions): string {
  const d = CHECKED_DEFAULTS;
  const args = [`--ops ${o.ops}`, `--seed ${o.seed}`, "--checked", `--workers ${o.workers}`];
  if (o.checkEvery !== d.checkEvery) args.push(`--check-every ${o.checkEvery}`);
  if (o.badRate !== d.badRate) args.push(`--bad-rate ${o.badRate}`);
  if (o.maxBytes !== d.maxBytes) args.push(`--max-mib ${o.maxBytes / 1048576}`);
  if (o.injectFault !== undefined) args.push(`--inject-fault ${o.injectFault}`);
  return `npm run fuzz -- ${args.join(" ")}`;
}
