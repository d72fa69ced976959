/**
 * default worker — one worker of the default-mode fuzz (default_mode.ts has the whole design).
 *
 * It attaches to the heap, then runs epochs when the main thread bumps Ctl.GO: EPOCH_OPS
 * operations chosen by a generator seeded from (seed, epoch, worker index), so that the same run
 * makes the same choices whatever the interleaving of the workers. The operations:
 * - on a random slot of its table: an empty one is filled by malloc / calloc / alignedAlloc (the
 *   block is checked: aligned, usableSize at least the request, calloc's zeros; then patterned);
 *   a live one is freed, reallocated (the kept prefix must verify) or its usableSize checked;
 *   every block's pattern is verified before it is freed, reallocated or handed over;
 * - on a transfer slot it owns this epoch: a block found there (put by another worker, or by the
 *   main thread) is verified, then freed (a cross-worker free) or taken into its table; an empty
 *   one receives a block of its table;
 * - bad operations that default mode catches, each of which must throw a RangeError or TypeError
 *   naming the pointer and change nothing: a double free of a small block of its own pages right
 *   after its free; a free of an interior pointer of a live block; of a pointer below the data
 *   pages or past the region; of a value of the wrong type.
 * Each slot change is published in the order that lets the main thread settle a cut: the pending
 * state first, then the call, then the result (board.ts).
 *
 * The victim of an epoch, at the op the main thread chose, posts "doomed" and from then on churns
 * (malloc, free, realloc) on its scratch slots until it is terminated. On Ctl.STOP it verifies and
 * frees its table, disposes its heap and exits. Any failure is posted with the epoch, the op and
 * the last operations; the worker then stops.
 */

import { isMainThread, parentPort, workerData } from "node:worker_threads";
import { attachHeap, MID_MAX, PAGE_SIZE, type Heap } from "../../src/index.js";
import { fillSparse, findNonZero, findSparseMismatch } from "../patterns.js";
import { BoardLayout, Ctl, SCRATCH_SLOTS, Slot, SlotState, TABLE_SLOTS, verifySlot, type DefaultWorkerData, type WorkerMessage } from "./board.js";
import { BAD_POINTERS, FuzzFailure, Recent, expectError, fail, hex, randomSize, rng, seedFor } from "./common.js";

function post(m: WorkerMessage): void {
  parentPort!.postMessage(m);
}

class FuzzWorker {
  private readonly heap: Heap;
  private readonly tid: number;
  private readonly board: Int32Array;
  private readonly layout: BoardLayout;
  private readonly w: number;
  private readonly recent = new Recent();
  private counts: Record<string, number> = {};
  private rand: () => number = Math.random;
  private epoch = -1;
  /** The op within the epoch, and the op number of the epoch's op 0 for this worker (as the run counts). */
  private op = 0;
  private opBase = 0;
  /** Ids of blocks allocated after the victim's cut (never replayed, so apart from the others). */
  private scratchId = 0x40000000;

  constructor(private readonly d: DefaultWorkerData) {
    this.heap = attachHeap(d.handle);
    this.tid = this.heap.threadId;
    this.board = new Int32Array(d.board);
    this.layout = new BoardLayout(d.workers);
    this.w = d.index;
  }

  run(): void {
    post({ type: "ready", tid: this.tid });
    const b = this.board;
    let go = this.d.go;
    for (;;) {
      // A notify can come late (the main thread descheduled between its add and its notify, this
      // worker meanwhile through a whole epoch and waiting again): only a new value means go.
      while (Atomics.load(b, Ctl.GO) === go) Atomics.wait(b, Ctl.GO, go);
      go = Atomics.load(b, Ctl.GO);
      try {
        if (Atomics.load(b, Ctl.STOP) === 1) {
          this.stop();
          return;
        }
        this.runEpoch(b[Ctl.EPOCH]!, b[Ctl.VICTIM] === this.w ? b[Ctl.CUT]! : -1, b[Ctl.INJECT_WORKER] === this.w ? b[Ctl.INJECT_OP]! : -1);
      } catch (e) {
        const message = e instanceof FuzzFailure ? e.message : `unexpected ${(e as Error)?.stack ?? e}`;
        const at = this.op < 0 ? "after it was told to die" : `at op ${this.opBase + this.op}`;
        post({ type: "failed", message: `worker ${this.w} (thread ${this.tid}), epoch ${this.epoch}, ${at}: ${message}`, recent: this.recent.lines() });
        return;
      }
      post({ type: "done", counts: this.takeCounts() });
    }
  }

  /** Records an operation for a failure report, numbered as the run counts (-1 after the cut). */
  private note(what: string, ptr = 0, n = -1): void {
    this.recent.add(what, this.op < 0 ? -1 : this.opBase + this.op, ptr, n);
  }

  private takeCounts(): Record<string, number> {
    const c = this.counts;
    this.counts = {};
    return c;
  }

  private count(k: string): void {
    this.counts[k] = (this.counts[k] ?? 0) + 1;
  }

  private int(n: number): number {
    return Math.floor(this.rand() * n);
  }

  private runEpoch(epoch: number, cut: number, inject: number): void {
    this.epoch = epoch;
    this.opBase = (this.board[Ctl.BASE_HI]! >>> 0) * 2 ** 32 + (this.board[Ctl.BASE_LO]! >>> 0) + this.w * this.d.epochOps;
    this.rand = rng(seedFor(this.d.seed, epoch, this.w));
    const { badRate, epochOps } = this.d;
    for (let i = 0; i < epochOps; i++) {
      this.op = i;
      if (i === cut) this.doomed(); // never returns
      if (i === inject) this.injectFault();
      const u = this.rand();
      if (u < badRate) this.badOp();
      else if (u < badRate + 0.12) this.transferOp();
      else this.slotOp(this.layout.tableSlot(this.w, this.int(TABLE_SLOTS)), false);
    }
  }

  /** Told to die: churn on the scratch slots until terminated. */
  private doomed(): never {
    post({ type: "doomed", counts: this.takeCounts() });
    this.op = -1;
    for (;;) this.slotOp(this.layout.scratchSlot(this.w, this.int(SCRATCH_SLOTS)), true);
  }

  private stop(): void {
    for (let k = 0; k < TABLE_SLOTS; k++) {
      const s = this.layout.word(this.layout.tableSlot(this.w, k));
      if (this.board[s + Slot.STATE] === SlotState.LIVE) this.free(s, "free(at the end)");
    }
    this.heap.dispose();
    post({ type: "stopped", counts: this.takeCounts() });
  }

  /** A new id: unique per (epoch, worker, op) in the replayed part, apart after a cut. */
  private newId(scratch: boolean): number {
    return scratch ? this.scratchId++ : ((this.epoch * this.d.workers + this.w) * this.d.epochOps + this.op + 1) | 0;
  }

  private verify(s: number, what: string): void {
    verifySlot(this.heap.u8, this.board, s, what);
  }

  // ─── Operations on a slot (of the table, or scratch after the cut) ─────────────────────

  private slotOp(slot: number, scratch: boolean): void {
    const s = this.layout.word(slot);
    if (this.board[s + Slot.STATE] === SlotState.EMPTY) return this.allocate(s, scratch);
    const v = this.rand();
    if (v < 0.55) this.free(s, "free");
    else if (v < 0.85) this.realloc(s, scratch);
    else {
      const p = this.board[s + Slot.PTR]! >>> 0;
      const u = this.heap.usableSize(p);
      this.note("usableSize", p);
      this.count("usableSize");
      if (u !== this.board[s + Slot.USABLE]) fail(`usableSize(${hex(p)}) is ${u}, it was ${this.board[s + Slot.USABLE]}`);
    }
  }

  private allocate(s: number, scratch: boolean): void {
    const b = this.board;
    const heap = this.heap;
    const a = this.rand();
    let n: number;
    let align = 8;
    let fn: string;
    let call: () => number;
    if (a < 0.8) {
      n = randomSize(this.rand);
      align = n >= 16 ? 16 : 8;
      fn = "malloc";
      call = () => heap.malloc(n);
    } else if (a < 0.9) {
      const size = 1 + this.int(64);
      const cnt = this.int(200);
      n = cnt * size;
      fn = "calloc";
      call = () => heap.calloc(cnt, size);
    } else {
      align = 2 ** this.int(17);
      n = this.int(this.rand() < 0.9 ? 3000 : 300_000);
      fn = `alignedAlloc(${align})`;
      call = () => heap.alignedAlloc(align, n);
    }
    b[s + Slot.PTR] = 0;
    b[s + Slot.N] = n;
    b[s + Slot.STATE] = SlotState.ALLOCATING;
    const p = call();
    b[s + Slot.PTR] = p;
    this.note(fn, p, n);
    this.count(fn.startsWith("aligned") ? "alignedAlloc" : fn);
    if (p === 0) {
      this.count("refused (heap full)");
      b[s + Slot.STATE] = SlotState.EMPTY;
      return;
    }
    if (p % align !== 0) fail(`${fn}(${n}) returned ${hex(p)}, not ${align}-aligned`);
    const usable = heap.usableSize(p);
    if (usable < n) fail(`${fn}(${n}) returned ${hex(p)} with usableSize ${usable}`);
    if (fn === "calloc") {
      const z = findNonZero(heap.u8, p, n);
      if (z >= 0) fail(`calloc of ${n} bytes returned ${hex(p)}, whose byte ${z} is not zero`);
    }
    const id = this.newId(scratch);
    fillSparse(heap.u8, p, n, id);
    b[s + Slot.USABLE] = usable;
    b[s + Slot.ID] = id;
    b[s + Slot.OWNER] = this.tid;
    b[s + Slot.SMALL] = n <= MID_MAX && align <= PAGE_SIZE ? 1 : 0;
    b[s + Slot.STATE] = SlotState.LIVE;
  }

  private free(s: number, what: string): void {
    const b = this.board;
    const p = b[s + Slot.PTR]! >>> 0;
    this.verify(s, `before ${what}`);
    b[s + Slot.STATE] = SlotState.FREEING;
    this.heap.free(p);
    b[s + Slot.STATE] = SlotState.EMPTY;
    b[s + Slot.PTR] = 0;
    this.note(what, p);
    this.count(b[s + Slot.OWNER] === this.tid ? what : `${what} (another's page)`);
  }

  private realloc(s: number, scratch: boolean): void {
    const b = this.board;
    const heap = this.heap;
    const p = b[s + Slot.PTR]! >>> 0;
    const n = b[s + Slot.N]!;
    const id = b[s + Slot.ID]!;
    this.verify(s, "before realloc");
    const n2 = this.rand() < 0.1 ? 0 : randomSize(this.rand);
    b[s + Slot.NEW_N] = n2;
    b[s + Slot.NEW_PTR] = 0;
    b[s + Slot.STATE] = SlotState.REALLOCATING;
    const q = heap.realloc(p, n2);
    b[s + Slot.NEW_PTR] = q;
    this.note(`realloc to ${hex(q)}`, p, n2);
    this.count("realloc");
    if (n2 === 0) {
      if (q !== 0) fail(`realloc(${hex(p)}, 0) returned ${hex(q)}, expected 0`);
      b[s + Slot.PTR] = 0;
      b[s + Slot.STATE] = SlotState.EMPTY;
      return;
    }
    if (q === 0) {
      this.count("refused (heap full)");
      b[s + Slot.STATE] = SlotState.LIVE;
      this.verify(s, "after a failed realloc");
      return;
    }
    const keep = Math.min(n, n2);
    const at = findSparseMismatch(heap.u8, q, n, id, keep);
    if (at >= 0) fail(`realloc(${hex(p)}, ${n2}) -> ${hex(q)}: byte ${at} of the ${keep} kept bytes differs`);
    if (q % 8 !== 0) fail(`realloc(${hex(p)}, ${n2}) returned ${hex(q)}, not 8-aligned`);
    const usable = heap.usableSize(q);
    if (usable < n2) fail(`realloc(${hex(p)}, ${n2}) returned ${hex(q)} with usableSize ${usable}`);
    const id2 = this.newId(scratch);
    fillSparse(heap.u8, q, n2, id2);
    b[s + Slot.PTR] = q;
    b[s + Slot.N] = n2;
    b[s + Slot.USABLE] = usable;
    b[s + Slot.ID] = id2;
    if (q !== p) {
      b[s + Slot.OWNER] = this.tid; // moved: a block of this worker's pages
      b[s + Slot.SMALL] = n2 <= MID_MAX ? 1 : 0;
    }
    b[s + Slot.STATE] = SlotState.LIVE;
  }

  // ─── Transfer slots ────────────────────────────────────────────────────────────────────

  private transferOp(): void {
    const W = this.d.workers;
    const b = this.board;
    const L = this.layout;
    const i = this.int(L.transferSlots / W) * W + ((this.w + this.epoch) % W);
    const t = L.word(L.transferSlot(i));
    const own = L.word(L.tableSlot(this.w, this.int(TABLE_SLOTS)));
    if (b[t + Slot.STATE] === SlotState.LIVE) {
      if (b[t + Slot.HANDED_IN] === this.epoch) return; // its own, of this epoch: for another
      this.verify(t, "taking a block from a transfer slot");
      if (this.rand() < 0.6 || b[own + Slot.STATE] !== SlotState.EMPTY) {
        this.free(t, "free(transfer)");
      } else {
        this.move(t, own);
        this.note("take from transfer", b[own + Slot.PTR]!);
        this.count("take from transfer");
      }
    } else if (b[own + Slot.STATE] === SlotState.LIVE) {
      this.verify(own, "handing a block over");
      this.move(own, t);
      b[t + Slot.HANDED_IN] = this.epoch;
      this.note("hand over", b[t + Slot.PTR]!);
      this.count("hand over");
    }
  }

  private move(from: number, to: number): void {
    const b = this.board;
    for (let k = 0; k < Slot.WORDS; k++) b[to + k] = b[from + k]!;
    b[from + Slot.STATE] = SlotState.EMPTY;
    b[from + Slot.PTR] = 0;
  }

  // ─── Bad operations ────────────────────────────────────────────────────────────────────

  private badOp(): void {
    const b = this.board;
    const s = this.layout.word(this.layout.tableSlot(this.w, this.int(TABLE_SLOTS)));
    const live = b[s + Slot.STATE] === SlotState.LIVE;
    const p = b[s + Slot.PTR]! >>> 0;
    const u = this.rand();
    if (u < 0.4) {
      // A block of this worker's own small pages stays in its thread cache after the free: no
      // other worker can take it before the second free. (A large block goes back to the span
      // bins, where another worker may take it first: its second free is not this test's.)
      if (!live || b[s + Slot.OWNER] !== this.tid || b[s + Slot.SMALL] !== 1) return;
      this.free(s, "free");
      this.note("free again", p);
      this.count("bad:double-free");
      expectError(`second free(${hex(p)})`, p, [RangeError], () => this.heap.free(p));
    } else if (u < 0.7) {
      if (!live) return;
      const q = p + 1 + this.int(b[s + Slot.USABLE]! - 1);
      this.note("free of an interior pointer", q);
      this.count("bad:interior");
      expectError(`free of the interior pointer ${hex(q)} of ${hex(p)}`, q, [RangeError], () => this.heap.free(q));
    } else if (u < 0.9) {
      // Below the data pages, or past the region (never mapped, whatever other workers grow).
      const q = this.rand() < 0.5
        ? 8 + 8 * this.int(this.d.metadataBytes / 8 - 1)
        : Math.min(0xfffffff8, this.d.maxBytes + 8 * this.int(1 << 24));
      this.note("free of a pointer outside the data", q);
      this.count("bad:outside");
      expectError(`free of ${hex(q)} (outside the data pages)`, q, [RangeError], () => this.heap.free(q));
    } else {
      const [v, type] = BAD_POINTERS[this.int(BAD_POINTERS.length)]!;
      this.note(`free(${String(v)})`);
      this.count("bad:type");
      expectError(`free(${String(v)})`, undefined, [type], () => this.heap.free(v as number));
    }
  }

  /** Damages a byte of a live block of the table, which nothing in the heap would notice. */
  private injectFault(): void {
    for (let k = 0; k < TABLE_SLOTS; k++) {
      const s = this.layout.word(this.layout.tableSlot(this.w, k));
      if (this.board[s + Slot.STATE] !== SlotState.LIVE || this.board[s + Slot.N] === 0) continue;
      const p = this.board[s + Slot.PTR]! >>> 0;
      this.heap.u8[p]! ^= 0x5a;
      this.note("injected fault: byte 0 of the block changed", p);
      return;
    }
  }
}

if (!isMainThread && parentPort !== null && (workerData as DefaultWorkerData | undefined)?.board !== undefined) {
  new FuzzWorker(workerData as DefaultWorkerData).run();
}
