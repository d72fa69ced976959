/**
 * fuzz — long random sequences of malloc / calloc / realloc / alignedAlloc / free against a
 * model of the live blocks, with bad operations mixed in, in checked mode.
 *
 *   npm run fuzz -- --ops 200000 --seed 42            (checked mode)
 *   npm run fuzz -- --ops 50000 --default             (default mode: only the safe bad operations)
 *   options: --ops N  --seed S  --check-every K  --bad-rate R (0..1)  --max-mib M  --workers 1|2
 *            --default | --checked  --quiet  --help
 *
 * What it asserts:
 * - good operations: every live block keeps the pattern of its id over the bytes it asked for
 *   (verified before it is freed or moved, and for all blocks every K ops); calloc gives zeros;
 *   realloc keeps the common prefix; alignedAlloc aligns; usableSize is the requested size in
 *   checked mode (at least it elsewhere); 0 only when the heap is full;
 * - bad operations throw the right error at the faulty call and leave the heap as it was:
 *   - double free, also of a block that another worker freed onto a thread-free list
 *     (HeapCorruptionError "double-free", checked mode);
 *   - a free of an interior pointer of a live block (RangeError "interior pointer");
 *   - a free of a pointer outside the heap, into a free span, past the carved blocks of a page,
 *     or of a wrong type (RangeError / TypeError); in checked mode also of a random freed block
 *     start (HeapCorruptionError "double-free");
 *   - a write past the end of a block, into its canary or its trailer: the next free, realloc or
 *     usableSize of it throws HeapCorruptionError "overflow" (checked mode), and check() names it
 *     ("canary" / "trailer"); the byte is then restored;
 *   - a write to a freed block: check() names it ("free-pattern"), and the reuse of the block by
 *     malloc throws HeapCorruptionError "use-after-free" (the block is withheld; check() names it
 *     "withheld-block" from then on, which the fuzz expects);
 * - check() is clean (but for withheld blocks) every K ops, its live count matches the model,
 *   and every few checks walk() visits exactly the model's blocks.
 * Every error message must name the pointer in hex. Exits 1 on the first failure, printing the
 * seed, the operation and the last operations before it.
 */

import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { attachHeap, createHeap, HeapCorruptionError, MID_MAX, PAGE_SIZE, SIZE_CLASSES, type Heap } from "../src/index.js";
import { H, Kind, PG } from "../src/layout.js";
import { CLASS_SIZE } from "../src/size_classes.js";
import { CHECK_OVERHEAD } from "../src/checked_blocks.js";

/**
 * Bytes behind the request that checked mode (complete, `check: true`) canaries in every block,
 * and bytes of a freed block it patterns in every block, at least: all of them up to 64 KiB, the
 * first and last 64 above (checked_blocks.ts). The fuzz damages bytes within these.
 */
const CANARY_BYTES = 64;
const FILLED_BYTES = 64;
import { fillPattern, findNonZero, findPatternMismatch } from "./patterns.js";

export interface FuzzOptions {
  ops: number;
  seed: number;
  /** Checked mode (createHeap({ check: true })); false runs only the bad operations safe without it. */
  checked: boolean;
  /** check(), a full pattern sweep and the model comparison every this many ops. */
  checkEvery: number;
  /** Share of operations that are bad ones. */
  badRate: number;
  /**
   * 2: a second thread heap on the same buffer (attachHeap, same thread) allocates some blocks
   * and frees some (remote frees, double frees across workers). 1: only the first.
   */
  workers: 1 | 2;
  maxBytes: number;
  /** Progress lines (none when omitted). */
  log?: (line: string) => void;
}

export interface FuzzSummary {
  options: Omit<FuzzOptions, "log">;
  ok: boolean;
  /** What went wrong, with the seed and the recent operations (empty when ok). */
  failure: string;
  /** Operations run, by kind (bad operations start with "bad:"). */
  counts: Record<string, number>;
  checks: number;
  walks: number;
  /** malloc / realloc returned 0 (the heap was full). */
  exhausted: number;
  peakLive: number;
  peakLiveBytes: number;
  ms: number;
}

export const DEFAULT_FUZZ: FuzzOptions = { ops: 20_000, seed: 1, checked: true, checkEvery: 200, badRate: 0.06, workers: 2, maxBytes: 96 << 20 };

class FuzzFailure extends Error {}

function fail(message: string): never {
  throw new FuzzFailure(message);
}

function hex(p: number): string {
  return `0x${(p >>> 0).toString(16)}`;
}

/** xorshift32. */
function rng(seed: number): () => number {
  let x = (seed ^ 0x9e3779b9) | 0 || 1;
  for (let i = 0; i < 8; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
  }
  return () => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) / 2 ** 32;
  };
}

interface Live {
  /** Requested bytes (the pattern covers them). */
  n: number;
  id: number;
  /** Allocated through the second heap (its pages). */
  viaOther: boolean;
}

/** Where a pointer falls, read from the heap's own page table (for choosing bad pointers). */
type Place =
  | { kind: "outside" }
  | { kind: "free-span" }
  | { kind: "large"; start: number; bytes: number }
  | { kind: "small"; start: number; size: number; index: number; into: number; reserved: number };

/** Runs one fuzz session. Never throws: failures are in the summary. */
export function runFuzz(options: Partial<FuzzOptions> = {}): FuzzSummary {
  const o: FuzzOptions = { ...DEFAULT_FUZZ, ...options };
  const t0 = performance.now();
  const rand = rng(o.seed);
  const int = (n: number): number => Math.floor(rand() * n);
  const counts: Record<string, number> = {};
  const count = (k: string): void => {
    counts[k] = (counts[k] ?? 0) + 1;
  };
  const recent: string[] = [];
  const note = (s: string): void => {
    recent.push(s);
    if (recent.length > 25) recent.shift();
  };
  const summary: FuzzSummary = {
    options: { ops: o.ops, seed: o.seed, checked: o.checked, checkEvery: o.checkEvery, badRate: o.badRate, workers: o.workers, maxBytes: o.maxBytes },
    ok: true, failure: "", counts, checks: 0, walks: 0, exhausted: 0, peakLive: 0, peakLiveBytes: 0, ms: 0,
  };

  const heap: Heap = createHeap({ maxBytes: o.maxBytes, shared: true, check: o.checked });
  const other: Heap = o.workers === 2 ? attachHeap(heap.handle()) : heap;
  const live = new Map<number, Live>();
  const ptrs: number[] = [];
  /** Blocks withheld by checked mode after a write after free was caught at their reuse. */
  const withheld = new Set<number>();
  let nextId = 0;
  let liveBytes = 0;

  const add = (p: number, n: number, viaOther = false): void => {
    if (live.has(p)) fail(`${hex(p)} handed out while still live`);
    const id = ++nextId;
    fillPattern(heap.u8, p, n, id);
    live.set(p, { n, id, viaOther });
    ptrs.push(p);
    liveBytes += n;
    summary.peakLive = Math.max(summary.peakLive, live.size);
    summary.peakLiveBytes = Math.max(summary.peakLiveBytes, liveBytes);
  };
  const removeAt = (k: number): void => {
    const p = ptrs[k]!;
    liveBytes -= live.get(p)!.n;
    live.delete(p);
    ptrs[k] = ptrs[ptrs.length - 1]!;
    ptrs.pop();
  };
  const verify = (p: number, what: string): void => {
    const b = live.get(p)!;
    const at = findPatternMismatch(heap.u8, p, b.n, b.id);
    if (at >= 0) fail(`${what}: live block ${hex(p)} (${b.n} bytes, id ${b.id}) lost its data at byte ${at}`);
  };
  const checkNew = (p: number, n: number, align: number, what: string): void => {
    if (p % align !== 0) fail(`${what} returned ${hex(p)}, not ${align}-aligned`);
    const u = heap.usableSize(p);
    if (o.checked ? u !== n : u < n) fail(`${what}: usableSize(${hex(p)}) is ${u}, expected ${o.checked ? "" : "at least "}${n}`);
  };

  const randomSize = (): number => {
    const u = rand();
    if (u < 0.6) return Math.floor(2 ** (rand() * 12)) - 1 + int(2);
    if (u < 0.9) return Math.floor(2 ** (10 + rand() * 8));
    if (u < 0.96) return SIZE_CLASSES[int(SIZE_CLASSES.length)]! - (o.checked ? 8 : 0) + int(2);
    return MID_MAX + 1 + int(2 << 20);
  };

  // ─── Reading the heap's page table, to choose bad pointers and the bytes to damage ─────────

  const place = (p: number): Place => {
    const buf = heap.buffer;
    const i32 = new Int32Array(buf, 0, buf.byteLength >>> 2);
    const firstPage = i32[H.FIRST_PAGE]!;
    const mapped = Atomics.load(i32, H.MAPPED_PAGES);
    const page = Math.floor(p / PAGE_SIZE) - firstPage;
    if (p < 0 || page < 0 || page >= mapped) return { kind: "outside" };
    // The page's entry: its segment's directory word holds its arena's table bias (layout.ts).
    const segment = (page * PAGE_SIZE) >>> i32[H.SEGMENT_SHIFT]!;
    const bias = i32[(i32[H.DIRECTORY]! >>> 2) + segment]!;
    const head = i32[bias + ((p >>> Math.log2(PAGE_SIZE)) << 4) + PG.HEAD]!;
    const cls = i32[head + PG.CLASS]!;
    const start = i32[head + PG.START]! >>> 0;
    const pages = i32[head + PG.PAGES]!;
    // (Metadata pages, too, hold no block: a pointer into one is as bad as one into a free span.)
    if (cls === Kind.FREE || cls === Kind.META || p < start || p >= start + pages * PAGE_SIZE) return { kind: "free-span" };
    if (cls === Kind.LARGE) return { kind: "large", start, bytes: pages * PAGE_SIZE };
    const size = CLASS_SIZE[cls]!;
    const offset = p - start;
    return { kind: "small", start, size, index: Math.floor(offset / size), into: offset % size, reserved: i32[head + PG.RESERVED]! };
  };
  const blockSize = (p: number): number => {
    const pl = place(p);
    if (pl.kind === "large") return pl.bytes;
    if (pl.kind === "small") return pl.size;
    return fail(`live block ${hex(p)} is in no block of the page table (${pl.kind})`);
  };

  /** Calls `f`, which must throw `type` (and `fault` for a HeapCorruptionError) naming `p`. */
  const expectThrow = (what: string, p: number | undefined, type: ErrorConstructor | typeof HeapCorruptionError, fault: string | undefined, f: () => unknown): Error => {
    let err: unknown;
    try {
      f();
    } catch (e) {
      err = e;
    }
    if (err === undefined) fail(`${what}: did not throw (expected ${type.name}${fault ? ` ${fault}` : ""})`);
    if (!(err instanceof type)) fail(`${what}: threw ${(err as Error)?.name}: ${(err as Error)?.message}; expected ${type.name}${fault ? ` ${fault}` : ""}`);
    if (fault !== undefined && (err as HeapCorruptionError).fault !== fault) {
      fail(`${what}: threw fault "${(err as HeapCorruptionError).fault}" (${(err as Error).message}); expected "${fault}"`);
    }
    if (fault !== undefined && (err as HeapCorruptionError).pointer !== p) {
      fail(`${what}: the error's pointer is ${hex((err as HeapCorruptionError).pointer)}, expected ${hex(p!)}`);
    }
    if (p !== undefined && !(err as Error).message.includes(hex(p))) fail(`${what}: the message does not name ${hex(p)}: ${(err as Error).message}`);
    return err as Error;
  };

  const runCheck = (when: string, expect?: { kind: string[]; pointer: number }): void => {
    summary.checks++;
    const rep = heap.check();
    // A withheld block is named "withheld-block", or "trailer" when its trailer was the damage
    // (nothing then tells it from a live block whose trailer was overwritten).
    const problems = rep.problems.filter((q) => !((q.kind === "withheld-block" || q.kind === "trailer") && withheld.has(q.pointer!)));
    if (expect === undefined) {
      if (problems.length > 0) fail(`check() ${when}: ${problems.length} problems:\n  ${problems.slice(0, 10).map((q) => `[${q.kind}] ${q.message}`).join("\n  ")}`);
      const withheldSeen = rep.problems.length - problems.length;
      if (withheldSeen !== withheld.size) fail(`check() ${when}: named ${withheldSeen} of the ${withheld.size} withheld blocks`);
      if (rep.liveBlocks !== live.size + withheld.size) fail(`check() ${when}: liveBlocks ${rep.liveBlocks}, the model has ${live.size} (+ ${withheld.size} withheld)`);
    } else {
      const ok = problems.length === 1 && expect.kind.includes(problems[0]!.kind) && problems[0]!.pointer === expect.pointer;
      if (!ok) {
        fail(`check() ${when}: expected one problem of kind ${expect.kind.join(" or ")} at ${hex(expect.pointer)}, got:\n  ${problems.map((q) => `[${q.kind}] ${q.message}`).join("\n  ") || "(none)"}`);
      }
    }
  };

  const sweep = (when: string): void => {
    for (const p of ptrs) verify(p, when);
    runCheck(when);
    if (summary.checks % 5 === 1) {
      summary.walks++;
      const seen = new Set<number>();
      heap.walk((b) => {
        if (withheld.has(b.ptr)) return;
        const m = live.get(b.ptr);
        if (m === undefined) fail(`walk() ${when}: visited ${hex(b.ptr)}, which is not live`);
        if (o.checked && b.size !== m.n) fail(`walk() ${when}: ${hex(b.ptr)} has size ${b.size}, asked for ${m.n}`);
        seen.add(b.ptr);
      });
      if (seen.size !== live.size) fail(`walk() ${when}: visited ${seen.size} live blocks, the model has ${live.size}`);
    }
  };

  // ─── Good operations ─────────────────────────────────────────────────────────────────────

  const doMalloc = (): void => {
    const n = randomSize();
    const viaOther = o.workers === 2 && rand() < 0.1;
    const h = viaOther ? other : heap;
    const p = h.malloc(n);
    note(`${viaOther ? "other." : ""}malloc(${n}) -> ${hex(p)}`);
    count("malloc");
    if (p === 0) {
      summary.exhausted++;
      return;
    }
    checkNew(p, n, n >= 16 ? 16 : 8, "malloc");
    add(p, n, viaOther);
  };
  const doCalloc = (): void => {
    const size = 1 + int(64);
    const cnt = int(200);
    const p = heap.calloc(cnt, size);
    note(`calloc(${cnt}, ${size}) -> ${hex(p)}`);
    count("calloc");
    if (p === 0) {
      summary.exhausted++;
      return;
    }
    const z = findNonZero(heap.u8, p, cnt * size);
    if (z >= 0) fail(`calloc(${cnt}, ${size}) -> ${hex(p)}: byte ${z} is not zero`);
    checkNew(p, cnt * size, 8, "calloc");
    add(p, cnt * size);
  };
  const doAligned = (): void => {
    const a = 2 ** int(17);
    const n = int(rand() < 0.9 ? 3000 : 300_000);
    const p = heap.alignedAlloc(a, n);
    note(`alignedAlloc(${a}, ${n}) -> ${hex(p)}`);
    count("alignedAlloc");
    if (p === 0) {
      summary.exhausted++;
      return;
    }
    checkNew(p, n, a, `alignedAlloc(${a}, ${n})`);
    add(p, n);
  };
  const doRealloc = (): void => {
    const k = int(ptrs.length);
    const p = ptrs[k]!;
    const old = live.get(p)!;
    verify(p, "before realloc");
    const n = rand() < 0.1 ? 0 : randomSize();
    const q = heap.realloc(p, n);
    note(`realloc(${hex(p)}, ${n}) -> ${hex(q)}`);
    count("realloc");
    if (n === 0) {
      if (q !== 0) fail(`realloc(${hex(p)}, 0) returned ${hex(q)}, expected 0`);
      removeAt(k);
      return;
    }
    if (q === 0) {
      summary.exhausted++;
      verify(p, "after a failed realloc");
      return;
    }
    const keep = Math.min(old.n, n);
    const at = findPatternMismatch(heap.u8, q, keep, old.id);
    if (at >= 0) fail(`realloc(${hex(p)}, ${n}) -> ${hex(q)}: byte ${at} of the ${keep} kept bytes differs`);
    removeAt(k);
    checkNew(q, n, 8, "realloc");
    add(q, n);
  };
  const doFree = (): void => {
    const k = int(ptrs.length);
    const p = ptrs[k]!;
    verify(p, "before free");
    // A tenth of the frees come from the other worker (remote frees onto thread-free lists).
    const remote = o.workers === 2 && rand() < 0.1;
    (remote ? other : heap).free(p);
    note(`${remote ? "other." : ""}free(${hex(p)})`);
    count(remote ? "free(remote)" : "free");
    removeAt(k);
  };

  // ─── Bad operations ──────────────────────────────────────────────────────────────────────

  const badDoubleFree = (): void => {
    const k = int(ptrs.length);
    const p = ptrs[k]!;
    verify(p, "before free");
    const remote = o.workers === 2 && rand() < 0.3;
    (remote ? other : heap).free(p);
    removeAt(k);
    note(`${remote ? "other." : ""}free(${hex(p)}), then free(${hex(p)}) again`);
    // A block still in a small page carries the free mark: "double-free". A large block, or a
    // small page that went back to the spans, is a page not in use: RangeError, like any pointer
    // that is no block.
    const pl = place(p);
    if (pl.kind === "small" && pl.into === 0 && pl.index < pl.reserved) {
      count(remote ? "bad:double-free(after remote free)" : "bad:double-free");
      expectThrow(`second free(${hex(p)})`, p, HeapCorruptionError, "double-free", () => heap.free(p));
    } else {
      count("bad:double-free(span released)");
      expectThrow(`second free(${hex(p)}) (its span was released)`, p, RangeError, undefined, () => heap.free(p));
    }
  };
  const badInterior = (): void => {
    const p = ptrs[int(ptrs.length)]!;
    const m = live.get(p)!;
    const span = o.checked ? m.n + CHECK_OVERHEAD : heap.usableSize(p);
    const q = p + 1 + int(Math.max(1, Math.min(span, blockSize(p)) - 1));
    note(`free(${hex(q)}) (interior of ${hex(p)})`);
    count("bad:interior");
    expectThrow(`free of the interior pointer ${hex(q)} of ${hex(p)}`, q, RangeError, undefined, () => heap.free(q));
  };
  const badForeign = (): void => {
    const u = rand();
    const buf = heap.buffer;
    let q: number;
    if (u < 0.15) q = 8 * int(16384); // the metadata before the data pages
    else if (u < 0.3) q = buf.byteLength + 8 * int(1 << 20); // past the mapped end
    else if (u < 0.35) q = 0xfffffff8;
    else {
      // Anywhere in the mapped data: keep it only if it is not a live block (or, outside
      // checked mode, a freed block start, which free would take for a live one).
      const first = new Int32Array(buf, 0, 16)[H.FIRST_PAGE]! * PAGE_SIZE;
      q = first + 8 * int((buf.byteLength - first) / 8);
      if (live.has(q) || withheld.has(q)) return;
    }
    const pl = place(q);
    if (pl.kind === "small" && pl.into === 0 && pl.index < pl.reserved) {
      // A block start of a small page, not live: a freed block.
      if (!o.checked) return;
      note(`free(${hex(q)}) (a free block)`);
      count("bad:free-of-free-block");
      expectThrow(`free of the free block ${hex(q)}`, q, HeapCorruptionError, "double-free", () => heap.free(q));
      return;
    }
    if (pl.kind === "large" && q === pl.start) return; // a live large block the model must know: skip
    note(`free(${hex(q)}) (${pl.kind})`);
    count(`bad:foreign(${pl.kind})`);
    expectThrow(`free of ${pl.kind} pointer ${hex(q)}`, q, RangeError, undefined, () => heap.free(q));
  };
  const badTypes = (): void => {
    const cases: Array<[unknown, ErrorConstructor]> = [[-8, RangeError], [2 ** 32, RangeError], [1.5, RangeError], ["16", TypeError], [undefined, TypeError], [NaN, RangeError]];
    const [v, type] = cases[int(cases.length)]!;
    note(`free(${String(v)})`);
    count("bad:type");
    expectThrow(`free(${String(v)})`, undefined, type, undefined, () => heap.free(v as number));
  };
  const badOverflow = (): void => {
    const p = ptrs[int(ptrs.length)]!;
    const m = live.get(p)!;
    const size = blockSize(p);
    // The canary covers at least [n, min(n + CANARY_BYTES, size − 4)); the trailer [size − 4, size). In
    // the trailer, only its top byte: the decoded size is then impossible (>= 2^24), where a
    // change of a low byte may decode to another plausible size whose canary happens to hold.
    const canaryEnd = Math.min(m.n + CANARY_BYTES, size - 4);
    const inTrailer = canaryEnd <= m.n || rand() < 0.25;
    const at = inTrailer ? size - 1 : m.n + int(canaryEnd - m.n);
    const u8 = heap.u8;
    const saved = u8[p + at]!;
    u8[p + at] = saved ^ (1 + int(255));
    note(`write at ${hex(p)} + ${at} (block of ${m.n} bytes, ${size} usable)`);
    count(inTrailer ? "bad:overflow(trailer)" : "bad:overflow(canary)");
    if (rand() < 0.3) runCheck(`after a write past the end of ${hex(p)}`, { kind: inTrailer ? ["trailer"] : ["canary"], pointer: p });
    const u = rand();
    const fn = u < 0.6 ? "free" : u < 0.8 ? "realloc" : "usableSize";
    expectThrow(`${fn}(${hex(p)}) after a write ${at - m.n} bytes past its end`, p, HeapCorruptionError, "overflow", () => {
      if (fn === "free") heap.free(p);
      else if (fn === "realloc") heap.realloc(p, m.n + 100);
      else heap.usableSize(p);
    });
    u8[p + at] = saved;
    verify(p, "after an overflow was caught");
  };
  const badWriteAfterFree = (): void => {
    const k = int(ptrs.length);
    const p = ptrs[k]!;
    const m = live.get(p)!;
    const size = blockSize(p);
    if (size > MID_MAX || m.viaOther) return; // large blocks carry no free pattern; keep to our own pages
    verify(p, "before free");
    heap.free(p);
    removeAt(k);
    const pl = place(p);
    if (pl.kind !== "small") {
      count("bad:write-after-free(page released)");
      return; // the page went back to the spans: nothing is left to damage
    }
    // The pattern covers at least bytes 4..FILLED_BYTES (before the trailer) and the trailer.
    const spots: number[] = [];
    for (let b = 4; b < Math.min(FILLED_BYTES, size - 4); b++) spots.push(b);
    for (let b = size - 4; b < size; b++) spots.push(b);
    const at = spots[int(spots.length)]!;
    const u8 = heap.u8;
    const saved = u8[p + at]!;
    u8[p + at] = saved ^ (1 + int(255));
    note(`free(${hex(p)}), then write at +${at}`);
    runCheck(`after a write to the freed block ${hex(p)}`, { kind: ["free-pattern"], pointer: p });
    if (rand() < 0.5) {
      u8[p + at] = saved;
      count("bad:write-after-free(caught by check)");
      return;
    }
    // Reuse: allocations of the same class until the damaged block comes up, or until the
    // page's free list has surely been passed over.
    const n = Math.max(0, size - CHECK_OVERHEAD);
    for (let tries = 0; tries < 4; tries++) {
      let q = 0;
      let err: unknown;
      try {
        q = heap.malloc(n);
      } catch (e) {
        err = e;
      }
      if (err !== undefined) {
        expectThrow(`malloc(${n}) reusing the damaged block ${hex(p)}`, p, HeapCorruptionError, "use-after-free", () => {
          throw err;
        });
        withheld.add(p);
        count("bad:write-after-free(caught at reuse)");
        return;
      }
      note(`malloc(${n}) -> ${hex(q)} while looking for ${hex(p)}`);
      if (q === 0) break;
      if (q === p) fail(`malloc(${n}) handed out ${hex(p)}, damaged after it was freed, without an error`);
      add(q, n);
    }
    // Not reused yet: repair it so the heap is clean again.
    u8[p + at] = saved;
    count("bad:write-after-free(not reused, repaired)");
  };

  // ─── The run ─────────────────────────────────────────────────────────────────────────────

  let op = 0;
  try {
    const target = 400;
    for (op = 0; op < o.ops; op++) {
      const u = rand();
      if (ptrs.length > 0 && u < o.badRate) {
        const b = rand();
        if (o.checked && b < 0.2) badDoubleFree();
        else if (b < 0.35) badInterior();
        else if (b < 0.55) badForeign();
        else if (b < 0.6) badTypes();
        else if (o.checked && b < 0.8) badOverflow();
        else if (o.checked) badWriteAfterFree();
        else badForeign();
      } else {
        const pAlloc = Math.max(0.1, Math.min(0.9, 0.5 + (target - ptrs.length) / (2 * target)));
        const g = rand();
        if (ptrs.length === 0 || g < pAlloc) {
          const a = rand();
          if (a < 0.8) doMalloc();
          else if (a < 0.9) doCalloc();
          else doAligned();
        } else if (g < pAlloc + (1 - pAlloc) * 0.25) doRealloc();
        else doFree();
      }
      if ((op + 1) % o.checkEvery === 0) {
        sweep(`after op ${op}`);
        if (o.log && (op + 1) % (o.checkEvery * 50) === 0) {
          o.log(`  ${op + 1} ops, ${live.size} live blocks (${(liveBytes / 1048576).toFixed(1)} MiB), ${withheld.size} withheld, ${summary.checks} checks`);
        }
      }
    }
    sweep("at the end");
    // Free everything (but the withheld): the heap must be empty and clean.
    while (ptrs.length > 0) doFree();
    heap.collect();
    runCheck("after freeing everything");
    if (other !== heap) {
      other.dispose();
      runCheck("after the other worker left");
    }
  } catch (e) {
    summary.ok = false;
    const what = e instanceof FuzzFailure ? e.message : `unexpected ${(e as Error)?.stack ?? e}`;
    summary.failure =
      `FAILED at op ${op} (seed ${o.seed}, ${o.checked ? "checked" : "default"} mode): ${what}\n` +
      `last operations:\n  ${recent.join("\n  ")}\n` +
      `replay: npm run fuzz -- --ops ${op + 1} --seed ${o.seed}${o.checked ? "" : " --default"} --workers ${o.workers} --check-every ${o.checkEvery} --bad-rate ${o.badRate} --max-mib ${o.maxBytes / 1048576}`;
  }
  summary.ms = performance.now() - t0;
  return summary;
}

/** The summary, as lines a person reads. */
export function formatSummary(s: FuzzSummary): string {
  const o = s.options;
  const lines = [
    `hakmem fuzz: ${s.ok ? "OK" : "FAILED"}: ${o.ops} ops, seed ${o.seed}, ${o.checked ? "checked" : "default"} mode, ${o.workers} worker${o.workers === 2 ? "s" : ""}, check every ${o.checkEvery}, bad rate ${o.badRate}, ${(s.ms / 1000).toFixed(1)} s`,
    `  ${s.checks} checks, ${s.walks} walks, ${s.exhausted} allocations refused (heap full), peak ${s.peakLive} live blocks / ${(s.peakLiveBytes / 1048576).toFixed(1)} MiB`,
  ];
  const keys = Object.keys(s.counts).sort();
  const good = keys.filter((k) => !k.startsWith("bad:"));
  const bad = keys.filter((k) => k.startsWith("bad:"));
  lines.push(`  good: ${good.map((k) => `${k} ${s.counts[k]}`).join(", ")}`);
  lines.push(`  bad:  ${bad.map((k) => `${k.slice(4)} ${s.counts[k]}`).join(", ") || "none"}`);
  if (!s.ok) lines.push(s.failure);
  return lines.join("\n");
}

const USAGE = `usage: node build/test/fuzz.js [options]        (or: npm run fuzz -- [options])
  --ops N           operations to run (default ${DEFAULT_FUZZ.ops})
  --seed S          seed (default: from the clock, printed first)
  --check-every K   check(), a pattern sweep and the model comparison every K ops (default ${DEFAULT_FUZZ.checkEvery})
  --bad-rate R      share of bad operations, 0 to 1 (default ${DEFAULT_FUZZ.badRate})
  --max-mib M       largest heap size in MiB (default ${DEFAULT_FUZZ.maxBytes / 1048576})
  --workers 1|2     thread heaps on the buffer (default ${DEFAULT_FUZZ.workers})
  --default         default mode: only the bad operations that are safe without checked mode
  --checked         checked mode (the default)
  --quiet           no progress lines
  --help            this text`;

type CommandLine = Partial<FuzzOptions> & { quiet: boolean };

/** The command line's options; null for --help. Throws an Error naming the option it cannot use. */
function readOptions(argv: string[]): CommandLine | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      ops: { type: "string" },
      seed: { type: "string" },
      "check-every": { type: "string" },
      "bad-rate": { type: "string" },
      "max-mib": { type: "string" },
      workers: { type: "string" },
      default: { type: "boolean", default: false },
      checked: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  if (values.default && values.checked) throw new Error("--default and --checked exclude each other");
  /** The option's value as a number when given, checked by `ok`; `expected` says what it takes. */
  const num = (name: "ops" | "seed" | "check-every" | "bad-rate" | "max-mib" | "workers", ok: (v: number) => boolean, expected: string): number | undefined => {
    if (values[name] === undefined) return undefined;
    const v = Number(values[name]);
    if (!ok(v)) throw new Error(`--${name} takes ${expected}, got ${JSON.stringify(values[name])}`);
    return v;
  };
  const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;
  const out: CommandLine = { quiet: values.quiet };
  const ops = num("ops", positiveInt, "a positive integer");
  const seed = num("seed", Number.isSafeInteger, "an integer");
  const checkEvery = num("check-every", positiveInt, "a positive integer");
  const badRate = num("bad-rate", (v) => v >= 0 && v <= 1, "a number from 0 to 1");
  const maxMiB = num("max-mib", (v) => positiveInt(v) && v <= 4095, "an integer from 1 to 4095");
  const workers = num("workers", (v) => v === 1 || v === 2, "1 or 2");
  if (ops !== undefined) out.ops = ops;
  if (seed !== undefined) out.seed = seed;
  if (checkEvery !== undefined) out.checkEvery = checkEvery;
  if (badRate !== undefined) out.badRate = badRate;
  if (maxMiB !== undefined) out.maxBytes = maxMiB * 1048576;
  if (workers !== undefined) out.workers = workers as 1 | 2;
  if (values.default) out.checked = false;
  if (values.checked) out.checked = true;
  return out;
}

function main(): void {
  let args: CommandLine | null;
  try {
    args = readOptions(process.argv.slice(2));
  } catch (e) {
    console.error(`fuzz: ${(e as Error).message}\n${USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (args === null) {
    console.log(USAGE);
    return;
  }
  const seed = args.seed ?? (Date.now() % 1_000_000_007);
  const { quiet, ...opts } = args;
  const log = quiet ? undefined : (line: string): void => console.log(line);
  log?.(`hakmem fuzz: seed ${seed}`);
  const s = runFuzz({ ...opts, seed, log });
  console.log(formatSummary(s));
  process.exitCode = s.ok ? 0 : 1;
}

// Run as a script, but not when the test runner picks this file up (node --test build/test/).
const argv1 = process.argv[1];
if (argv1 !== undefined && import.meta.url === pathToFileURL(argv1).href && process.env.NODE_TEST_CONTEXT === undefined) main();
