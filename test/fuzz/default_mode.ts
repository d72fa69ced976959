/**
 * default-mode fuzz — random malloc / calloc / realloc / alignedAlloc / free by 1 to 8 worker
 * threads on one heap in default mode, with cross-worker frees, terminations and reclaim, against a
 * model of every live block. Run by `npm run fuzz -- --default` (test/fuzz.ts).
 *
 * Design: the run is a sequence of epochs. In each, every worker (default_worker.ts) runs
 * EPOCH_OPS operations at once with the others; between epochs no worker runs, and the main thread
 * has the heap to itself. The model is the board (board.ts): every block of the heap is in exactly
 * one slot between epochs, and each slot names its pointer, requested and usable size, pattern id
 * and allocating thread. Blocks move between workers through transfer slots, so most of them are
 * freed by another worker than the one that allocated them.
 *
 * Between epochs the main thread:
 * - settles a termination: in some epochs (on average one in `terminateEvery`) one worker, at an
 *   op chosen by the generator, is told it is doomed; it then churns on its scratch slots until
 *   the main thread terminates it (after 0–3 ms) and reclaims its pages with reclaimWhenGone. Its
 *   table (the blocks it had handed over, in shared memory) must stay intact: a new worker takes it
 *   over. Its scratch blocks are freed by the main thread; the block of an allocation cut before its
 *   pointer was stored is lost, as in any program: walk() finds it as the one block no slot names,
 *   it must fit the pending request, and the main thread frees it, so the model stays exact;
 * - frees some blocks of transfer slots (cross-worker frees), each followed, at once or after
 *   other frees, by a second free that must throw a RangeError naming it (no worker runs, so no
 *   one can take the block meanwhile); frees pointers anywhere in the data pages that start no
 *   live block (RangeError); allocates blocks into empty transfer slots (later freed by workers);
 * - runs the full check when due (CheckSchedule): every block's pattern; no two blocks overlap;
 *   stats() counts exactly the model's blocks and usable bytes; check() is clean and counts them;
 *   walk() visits exactly them, with their usable sizes.
 * At the end the workers free their tables and dispose, the main thread frees the transfer slots
 * and collects: the heap must be empty (no live block, no page in use) and check() clean.
 *
 * Replay: every choice comes from the seed, the epoch and the worker index, never from a pointer
 * or the clock, and terminations fall in the same epochs at the same ops; so a failure's replay
 * line repeats the same operations up to the failing epoch and ends with a full check. With more
 * than one worker the interleaving (and with it the pointers) is not repeated.
 */

import { Worker } from "node:worker_threads";
import { createHeap, MID_MAX, reclaimWhenGone, type BlockInfo, type Heap } from "../../src/index.js";
import { fillSparse } from "../patterns.js";
import { BoardLayout, Ctl, SCRATCH_SLOTS, Slot, SlotState, TABLE_SLOTS, verifySlot, type DefaultWorkerData, type WorkerMessage } from "./board.js";
import { CheckSchedule, FuzzFailure, expectError, fail, formatCounts, hex, randomSize, rng, seedFor, type FuzzSummary } from "./common.js";

export interface DefaultFuzzOptions {
  /** Operations to run, at least (whole epochs; Infinity: until `seconds` are up). */
  ops: number;
  /** Stop after this many seconds, if given (at the end of an epoch; one epoch at least). */
  seconds?: number;
  seed: number;
  /** Worker threads, 1 to 8. */
  workers: number;
  /** A full check every this many ops (at the end of the epoch that reaches it); 0: auto. */
  checkEvery: number;
  /** Share of the workers' operations that are bad ones. */
  badRate: number;
  maxBytes: number;
  /** One epoch in this many (on average) terminates a worker; 0: none. */
  terminateEvery: number;
  /** Operations of each worker per epoch. */
  epochOps: number;
  /** At this op (counted as in --ops), damage a byte of a live block, as a heap bug would. */
  injectFault?: number;
  /** Progress lines, about every 10 s. */
  log?: (line: string) => void;
}

export const DEFAULT_MODE_DEFAULTS: DefaultFuzzOptions = {
  ops: 200_000, seed: 1, workers: 2, checkEvery: 0, badRate: 0.02, maxBytes: 512 << 20, terminateEvery: 32, epochOps: 2000,
};

/** An epoch that takes longer fails (a deadlock, a worker that never ends). */
const EPOCH_TIMEOUT_MS = 120_000;
const WORKER_URL = new URL("./default_worker.js", import.meta.url);

/** One worker thread and what it is expected to say next. */
class Link {
  readonly worker: Worker;
  tid = 0;
  /** Set once the worker is terminated on purpose (its exit is then no failure). */
  ending = false;
  private expected: { type: WorkerMessage["type"]; resolve: (m: WorkerMessage) => void; reject: (e: Error) => void } | undefined;
  private failure: Error | undefined;

  constructor(readonly index: number, data: DefaultWorkerData, private readonly onCounts: (c: Record<string, number>) => void) {
    this.worker = new Worker(WORKER_URL, { workerData: data });
    this.worker.on("message", (m: WorkerMessage) => {
      if (m.type === "failed") {
        return this.fail(new FuzzFailure(`${m.message}\nlast operations of that worker:\n  ${m.recent.join("\n  ")}`));
      }
      if (m.type === "ready") this.tid = m.tid;
      else this.onCounts(m.counts);
      const x = this.expected;
      if (x === undefined || x.type !== m.type) return this.fail(new FuzzFailure(`worker ${index}: unexpected message "${m.type}"${x ? ` (expected "${x.type}")` : ""}`));
      this.expected = undefined;
      x.resolve(m);
    });
    this.worker.on("error", (e) => this.fail(new FuzzFailure(`worker ${index} (thread ${this.tid}) threw: ${e.stack ?? e}`)));
    this.worker.on("exit", (code) => {
      if (!this.ending) this.fail(new FuzzFailure(`worker ${index} (thread ${this.tid}) exited (code ${code}) unexpectedly`));
      else if (this.expected !== undefined) this.fail(new FuzzFailure(`worker ${index} (thread ${this.tid}) exited (code ${code}) before it sent "${this.expected.type}"`));
    });
  }

  /** The failure this worker reported or met, if any (also one that came when nothing was expected). */
  get failed(): Error | undefined {
    return this.failure;
  }

  private fail(e: Error): void {
    this.failure ??= e;
    const x = this.expected;
    this.expected = undefined;
    x?.reject(e);
  }

  /** The next message, which must be of `type`. */
  expect(type: WorkerMessage["type"]): Promise<WorkerMessage> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => (this.expected = { type, resolve, reject }));
  }
}

/** Runs one default-mode fuzz session. Never rejects: failures are in the summary. */
export async function runDefaultFuzz(options: Partial<DefaultFuzzOptions> = {}): Promise<FuzzSummary> {
  const o: DefaultFuzzOptions = { ...DEFAULT_MODE_DEFAULTS, ...options };
  if (!(Number.isInteger(o.workers) && o.workers >= 1 && o.workers <= 8)) throw new RangeError(`workers must be an integer from 1 to 8, got ${o.workers}`);
  return new DefaultFuzz(o).run();
}

class DefaultFuzz {
  private readonly heap: Heap;
  private readonly layout: BoardLayout;
  private readonly board: Int32Array;
  private readonly links: Link[] = [];
  private readonly schedule: CheckSchedule;
  private readonly counts: Record<string, number> = {};
  private readonly metadataBytes: number;
  private epoch = 0;
  /** Operations run (the replayed count), and before the current epoch. */
  private ops = 0;
  private opsBefore = 0;
  /** The op count at the end of the current epoch (what a replay of a failure in it runs to). */
  private opsPlanned = 0;
  private terminations = 0;
  private reclaimedPages = 0;
  private lost = 0;
  private peakLive = 0;
  private peakMapped = 0;

  constructor(private readonly o: DefaultFuzzOptions) {
    this.heap = createHeap({ maxBytes: o.maxBytes, shared: true });
    this.layout = new BoardLayout(o.workers);
    this.board = new Int32Array(new SharedArrayBuffer(4 * this.layout.words()));
    this.schedule = new CheckSchedule(o.checkEvery);
    this.metadataBytes = this.heap.stats().metadataBytes;
  }

  private addCounts(c: Record<string, number>): void {
    for (const [k, v] of Object.entries(c)) this.counts[k] = (this.counts[k] ?? 0) + v;
  }

  private count(k: string): void {
    this.counts[k] = (this.counts[k] ?? 0) + 1;
  }

  private async spawn(index: number): Promise<Link> {
    const data: DefaultWorkerData = {
      handle: this.heap.handle(), board: this.board.buffer as SharedArrayBuffer, index, workers: this.o.workers, go: Atomics.load(this.board, Ctl.GO),
      seed: this.o.seed, epochOps: this.o.epochOps, badRate: this.o.badRate, maxBytes: this.o.maxBytes, metadataBytes: this.metadataBytes,
    };
    const link = new Link(index, data, (c) => this.addCounts(c));
    this.links[index] = link;
    await link.expect("ready");
    return link;
  }

  async run(): Promise<FuzzSummary> {
    const o = this.o;
    const t0 = performance.now();
    const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
    let nextLog = t0 + 10_000;
    let failure = "";
    try {
      for (let w = 0; w < o.workers; w++) await this.spawn(w);
      // At least one epoch, however short the time (a loaded machine may spend it starting workers).
      for (let first = true; this.ops < o.ops && (first || performance.now() < deadline); first = false) {
        await this.runEpoch();
        if (this.schedule.due(this.ops)) {
          const start = performance.now();
          const mapped = this.fullCheck(`after epoch ${this.epoch} (op ${this.ops})`);
          this.schedule.done(this.ops, start, mapped);
        }
        this.epoch++;
        if (o.log && performance.now() > nextLog) {
          nextLog = performance.now() + 10_000;
          const st = this.heap.stats();
          o.log(`  ${this.ops} ops, ${this.epoch} epochs, ${this.terminations} terminations, ${st.liveBlocks} live blocks (${(st.liveBytes / 1048576).toFixed(1)} MiB), ` +
            `${(st.mappedBytes / 1048576).toFixed(0)} MiB mapped, ${this.schedule.checks} checks, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
        }
      }
      await this.finish();
    } catch (e) {
      const what = e instanceof FuzzFailure ? e.message : `unexpected ${(e as Error)?.stack ?? e}`;
      failure = `FAILED in epoch ${this.epoch} (ops ${this.opsBefore}–${Math.max(this.ops, this.opsPlanned)}; seed ${o.seed}, default mode, ${o.workers} worker${o.workers === 1 ? "" : "s"}): ${what}`;
      for (const l of this.links) {
        l.ending = true;
        await l.worker.terminate().catch(() => 0);
      }
    }
    const ms = performance.now() - t0;
    const c = this.counts;
    return {
      mode: "default",
      ok: failure === "",
      seed: o.seed,
      ops: failure === "" ? this.ops : Math.max(this.ops, this.opsPlanned),
      workers: o.workers,
      terminations: this.terminations,
      checks: this.schedule.checks,
      checkMs: this.schedule.checkMs,
      ms,
      failure,
      replay: failure === "" ? "" : replayCommand({ ...o, ops: Math.max(this.ops, this.opsPlanned) }),
      counts: c,
      figures: { epochs: this.epoch, reclaimedPages: this.reclaimedPages, lost: this.lost, peakLive: this.peakLive, peakMapped: this.peakMapped },
      details: [
        `worker threads: ${o.workers}, epochs of ${o.epochOps} ops each: ${this.epoch}; bad rate ${o.badRate}; max ${o.maxBytes / 1048576} MiB; checks ${this.schedule.describe()}`,
        `terminations: ${this.terminations} (one epoch in ${o.terminateEvery || "∞"}), ${this.reclaimedPages} pages reclaimed, ${this.lost} blocks lost with them (found by walk() and freed); ` +
          `peak ${this.peakLive} live blocks, ${(this.peakMapped / 1048576).toFixed(0)} MiB mapped`,
        ...formatCounts(c),
      ],
    };
  }

  /** Every slot of the board. */
  private *slots(): Generator<number> {
    for (let k = 0; k < this.layout.totalSlots; k++) yield this.layout.word(k);
  }

  private async runEpoch(): Promise<void> {
    const o = this.o;
    const b = this.board;
    const rand = rng(seedFor(o.seed, this.epoch, 1000));
    const victim = o.terminateEvery > 0 && rand() < 1 / o.terminateEvery ? Math.floor(rand() * o.workers) : -1;
    const cut = Math.floor(rand() * o.epochOps);
    const killDelay = Math.floor(rand() * 4);
    const inject = o.injectFault !== undefined && o.injectFault >= this.ops && o.injectFault < this.ops + o.workers * o.epochOps ? o.injectFault - this.ops : -1;
    b[Ctl.EPOCH] = this.epoch;
    b[Ctl.BASE_LO] = this.ops % 2 ** 32;
    b[Ctl.BASE_HI] = Math.floor(this.ops / 2 ** 32);
    b[Ctl.VICTIM] = victim;
    b[Ctl.CUT] = cut;
    b[Ctl.INJECT_WORKER] = inject < 0 ? -1 : Math.floor(inject / o.epochOps);
    b[Ctl.INJECT_OP] = inject < 0 ? -1 : inject % o.epochOps;
    const ends = this.links.map(async (l) => {
      if (l.index !== victim) return void (await l.expect("done"));
      await l.expect("doomed");
      await new Promise((r) => setTimeout(r, killDelay));
      l.ending = true;
      void l.worker.terminate();
      this.reclaimedPages += await reclaimWhenGone(this.heap, l.worker, l.tid);
      this.terminations++;
    });
    this.opsBefore = this.ops;
    this.opsPlanned = this.ops + (victim < 0 ? o.workers : o.workers - 1) * o.epochOps + (victim < 0 ? 0 : cut);
    Atomics.add(b, Ctl.GO, 1);
    Atomics.notify(b, Ctl.GO);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new FuzzFailure(`epoch ${this.epoch} not finished after ${EPOCH_TIMEOUT_MS} ms (a deadlock, or a worker that never ends)`)), EPOCH_TIMEOUT_MS);
    });
    const links = [...this.links];
    try {
      await Promise.race([Promise.all(ends), timeout]);
    } finally {
      clearTimeout(timer);
    }
    // A doomed worker may fail between its "doomed" and its termination, when nothing waits for it.
    for (const l of links) if (l.failed !== undefined) throw l.failed;
    this.ops = this.opsPlanned;
    if (victim >= 0) {
      this.settleCut(victim);
      await this.spawn(victim);
    }
    this.betweenEpochs(rand);
  }

  /**
   * After worker `w` was terminated and reclaimed (no worker runs): its scratch blocks are freed;
   * an operation cut in the middle is settled with walk(): a block no slot names is the one its
   * allocation took before the cut (lost with the worker; freed here), a block it was freeing is
   * freed here if it is still live.
   */
  private settleCut(w: number): void {
    const b = this.board;
    const L = this.layout;
    const heap = this.heap;
    // What it handed over (its table, and the transfer slots) must be intact.
    for (let k = 0; k < TABLE_SLOTS; k++) {
      const s = L.word(L.tableSlot(w, k));
      if (b[s + Slot.STATE] === SlotState.LIVE) this.verify(s, `a block of terminated worker ${w}'s table`);
    }
    for (let i = 0; i < L.transferSlots; i++) {
      const s = L.word(L.transferSlot(i));
      if (b[s + Slot.STATE] === SlotState.LIVE) this.verify(s, `a transfer block after worker ${w} was terminated`);
    }
    const pendingSizes: number[] = [];
    const maybeLive: number[] = [];
    const inFlight: string[] = []; // the calls cut short, for a failure's message
    for (let k = 0; k < SCRATCH_SLOTS; k++) {
      const s = L.word(L.scratchSlot(w, k));
      const p = b[s + Slot.PTR]! >>> 0;
      switch (b[s + Slot.STATE]) {
        case SlotState.LIVE:
          this.verify(s, `a scratch block of terminated worker ${w}`);
          heap.free(p);
          this.count("free(scratch of a terminated worker)");
          break;
        case SlotState.ALLOCATING:
          if (p !== 0) heap.free(p); // returned, not yet patterned
          else {
            pendingSizes.push(b[s + Slot.N]!);
            inFlight.push(`an allocation of ${b[s + Slot.N]} bytes`);
          }
          break;
        case SlotState.FREEING:
          maybeLive.push(p);
          inFlight.push(`free(${hex(p)})`);
          break;
        case SlotState.REALLOCATING: {
          const q = b[s + Slot.NEW_PTR]! >>> 0;
          if (q !== 0) heap.free(q); // realloc returned (and freed p if it moved)
          else {
            maybeLive.push(p);
            if (b[s + Slot.NEW_N]! > 0) pendingSizes.push(b[s + Slot.NEW_N]!);
            inFlight.push(`realloc(${hex(p)} of ${b[s + Slot.USABLE]} usable bytes, ${b[s + Slot.NEW_N]})`);
          }
          break;
        }
      }
      b[s + Slot.STATE] = SlotState.EMPTY;
      b[s + Slot.PTR] = 0;
    }
    const model = this.modelBlocks();
    const unnamed = new Map<number, BlockInfo>();
    heap.walk((blk) => {
      if (!model.has(blk.ptr)) unnamed.set(blk.ptr, blk);
    });
    for (const p of maybeLive) {
      if (!unnamed.has(p)) continue;
      unnamed.delete(p);
      heap.free(p);
      this.count("free cut short, finished by the main thread");
    }
    if (unnamed.size > pendingSizes.length) {
      fail(`after terminating worker ${w}: walk() found ${unnamed.size} blocks no slot names (${[...unnamed.keys()].slice(0, 8).map(hex).join(", ")}), ` +
        `but only ${pendingSizes.length} allocations were cut before storing their pointer (cut: ${inFlight.join(", ") || "nothing"})`);
    }
    for (const [p, { usable, classSize, owner }] of unnamed) {
      const i = pendingSizes.findIndex((n) => n <= usable);
      const kind = classSize === 0 ? "a large block" : `a block of a ${classSize}-byte class, page owner ${owner}`;
      if (i < 0) fail(`after terminating worker ${w}: walk() found ${hex(p)} (${kind}, ${usable} usable bytes), which no slot names and no cut allocation (of ${pendingSizes.join(", ")} bytes) fits (cut: ${inFlight.join(", ") || "nothing"})`);
      pendingSizes.splice(i, 1);
      heap.free(p);
      this.lost++;
    }
  }

  /** Pointer → slot word of every live block of the model. */
  private modelBlocks(): Map<number, number> {
    const m = new Map<number, number>();
    for (const s of this.slots()) {
      const st = this.board[s + Slot.STATE];
      if (st === SlotState.EMPTY) continue;
      const p = this.board[s + Slot.PTR]! >>> 0;
      if (st !== SlotState.LIVE) fail(`slot word ${s} is in state ${st} between epochs (only a terminated worker's scratch slots may be)`);
      if (m.has(p)) fail(`${hex(p)} is in two slots (words ${m.get(p)} and ${s})`);
      m.set(p, s);
    }
    return m;
  }

  private verify(s: number, what: string): void {
    verifySlot(this.heap.u8, this.board, s, what);
  }

  /** The main thread's own operations between epochs (no worker runs). */
  private betweenEpochs(rand: () => number): void {
    const b = this.board;
    const L = this.layout;
    const heap = this.heap;
    const int = (n: number) => Math.floor(rand() * n);
    const again: number[] = [];
    const secondFree = (p: number) => expectError(`second free(${hex(p)}) by the main thread`, p, [RangeError], () => heap.free(p));
    for (let k = int(5); k > 0; k--) {
      const s = L.word(L.transferSlot(int(L.transferSlots)));
      if (b[s + Slot.STATE] !== SlotState.LIVE) continue;
      const p = b[s + Slot.PTR]! >>> 0;
      this.verify(s, "a transfer block the main thread frees");
      heap.free(p);
      b[s + Slot.STATE] = SlotState.EMPTY;
      b[s + Slot.PTR] = 0;
      this.count("free(main thread)");
      this.count("bad:double-free(main thread)");
      if (rand() < 0.5) secondFree(p);
      else again.push(p);
    }
    for (const p of again) secondFree(p);
    let model: Map<number, number> | undefined;
    const st = heap.stats();
    for (let k = int(3); k > 0; k--) {
      const q = this.metadataBytes + 8 * int((st.mappedBytes - this.metadataBytes) / 8);
      model ??= this.modelBlocks();
      if (model.has(q)) continue;
      this.count("bad:no block there(main thread)");
      expectError(`free(${hex(q)}) by the main thread: no live block starts there`, q, [RangeError], () => heap.free(q));
    }
    for (let k = int(3); k > 0; k--) {
      const s = L.word(L.transferSlot(int(L.transferSlots)));
      if (b[s + Slot.STATE] !== SlotState.EMPTY) continue;
      const n = randomSize(rand);
      const p = heap.malloc(n);
      this.count("malloc(main thread)");
      if (p === 0) continue;
      const id = -(this.epoch * 8 + k);
      fillSparse(heap.u8, p, n, id);
      b[s + Slot.PTR] = p;
      b[s + Slot.N] = n;
      b[s + Slot.USABLE] = heap.usableSize(p);
      b[s + Slot.ID] = id;
      b[s + Slot.OWNER] = heap.threadId;
      b[s + Slot.SMALL] = n <= MID_MAX ? 1 : 0;
      b[s + Slot.HANDED_IN] = -1;
      b[s + Slot.STATE] = SlotState.LIVE;
    }
  }

  /**
   * The full check (no worker runs): patterns, no overlap, stats(), check() and walk() against
   * the model. Returns the mapped bytes.
   */
  private fullCheck(when: string): number {
    const heap = this.heap;
    const b = this.board;
    const blocks: number[] = [];
    let usableSum = 0;
    for (const s of this.modelBlocks().values()) {
      this.verify(s, `full check ${when}`);
      blocks.push(s);
      usableSum += b[s + Slot.USABLE]!;
    }
    const ptr = (s: number) => b[s + Slot.PTR]! >>> 0;
    blocks.sort((x, y) => ptr(x) - ptr(y));
    for (let k = 1; k < blocks.length; k++) {
      const [s, t] = [blocks[k - 1]!, blocks[k]!];
      if (ptr(s) + b[s + Slot.USABLE]! > ptr(t)) fail(`full check ${when}: block ${hex(ptr(s))} (${b[s + Slot.USABLE]} usable bytes) overlaps block ${hex(ptr(t))}`);
    }
    const st = heap.stats();
    if (st.liveBlocks !== blocks.length || st.liveBytes !== usableSum) {
      fail(`full check ${when}: stats() counts ${st.liveBlocks} live blocks of ${st.liveBytes} usable bytes; the model has ${blocks.length} of ${usableSum}`);
    }
    const rep = heap.check();
    if (!rep.ok) fail(`full check ${when}: check() found ${rep.problems.length} problems:\n  ${rep.problems.slice(0, 10).map((q) => `[${q.kind}] ${q.message}`).join("\n  ")}`);
    if (rep.liveBlocks !== blocks.length || rep.liveBytes !== usableSum) fail(`full check ${when}: check() counts ${rep.liveBlocks} live blocks of ${rep.liveBytes} bytes; the model has ${blocks.length} of ${usableSum}`);
    let k = 0;
    heap.walk((blk) => {
      const s = blocks[k++];
      if (s === undefined || ptr(s) !== blk.ptr) fail(`full check ${when}: walk() visited ${hex(blk.ptr)}, the model's next block is ${s === undefined ? "none" : hex(ptr(s))}`);
      if (blk.usable !== b[s + Slot.USABLE]) fail(`full check ${when}: walk() gives ${hex(blk.ptr)} ${blk.usable} usable bytes, usableSize gave ${b[s + Slot.USABLE]}`);
    });
    if (k !== blocks.length) fail(`full check ${when}: walk() visited ${k} blocks, the model has ${blocks.length}`);
    this.peakLive = Math.max(this.peakLive, blocks.length);
    this.peakMapped = Math.max(this.peakMapped, st.mappedBytes);
    return st.mappedBytes;
  }

  /** Stops the workers (they free their tables), frees the transfer slots, collects: the heap must be empty. */
  private async finish(): Promise<void> {
    const start = performance.now();
    this.schedule.done(this.ops, start, this.fullCheck(`at the end (op ${this.ops})`));
    const b = this.board;
    Atomics.store(b, Ctl.STOP, 1);
    const stopped = this.links.map(async (l) => {
      const exited = new Promise((r) => l.worker.once("exit", r));
      l.ending = true;
      await l.expect("stopped");
      await exited;
    });
    Atomics.add(b, Ctl.GO, 1);
    Atomics.notify(b, Ctl.GO);
    await Promise.all(stopped);
    for (let i = 0; i < this.layout.transferSlots; i++) {
      const s = this.layout.word(this.layout.transferSlot(i));
      if (b[s + Slot.STATE] !== SlotState.LIVE) continue;
      this.verify(s, "at the end");
      this.heap.free(b[s + Slot.PTR]! >>> 0);
      b[s + Slot.STATE] = SlotState.EMPTY;
    }
    for (let w = 0; w < this.o.workers; w++) {
      for (let k = 0; k < TABLE_SLOTS; k++) {
        if (b[this.layout.word(this.layout.tableSlot(w, k)) + Slot.STATE] !== SlotState.EMPTY) fail(`worker ${w} stopped with slot ${k} of its table not empty`);
      }
    }
    this.heap.collect();
    const st = this.heap.stats();
    if (st.liveBlocks !== 0 || st.liveBytes !== 0 || st.heapBytes !== 0 || st.segmentsInUse !== 0) {
      fail(`after every block was freed and collect(): liveBlocks ${st.liveBlocks}, liveBytes ${st.liveBytes}, heapBytes ${st.heapBytes}, segmentsInUse ${st.segmentsInUse} (all expected 0)`);
    }
    const rep = this.heap.check();
    if (!rep.ok) fail(`at the end: check() found problems:\n  ${rep.problems.slice(0, 10).map((q) => `[${q.kind}] ${q.message}`).join("\n  ")}`);
    this.heap.dispose();
  }
}

/** The command that repeats a default-mode run with these options. */
function replayCommand(o: DefaultFuzzOptions): string {
  const d = DEFAULT_MODE_DEFAULTS;
  const args = [`--ops ${o.ops}`, `--seed ${o.seed}`, "--default", `--workers ${o.workers}`];
  if (o.checkEvery !== d.checkEvery) args.push(`--check-every ${o.checkEvery}`);
  if (o.badRate !== d.badRate) args.push(`--bad-rate ${o.badRate}`);
  if (o.maxBytes !== d.maxBytes) args.push(`--max-mib ${o.maxBytes / 1048576}`);
  if (o.terminateEvery !== d.terminateEvery) args.push(`--terminate-every ${o.terminateEvery}`);
  if (o.epochOps !== d.epochOps) args.push(`--epoch-ops ${o.epochOps}`);
  if (o.injectFault !== undefined) args.push(`--inject-fault ${o.injectFault}`);
  return `npm run fuzz -- ${args.join(" ")}`;
}
