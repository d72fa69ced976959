/**
 * cases — the browser tests' cases, run inside a page (index.html) that test/browser.test.ts
 * opens in Chromium and calls through `window.hakmemCases`. Each case throws, naming what failed
 * and where, at the first failure it finds (the terminate case in its "immediately" mode counts
 * corruptions instead: it is the control that shows the test can see the race), and resolves to
 * figures that the Node side asserts and prints.
 *
 * Workers are module workers (test/browser/*.ts): the page hands them hakmem's URL, which it gets
 * from its import map with import.meta.resolve (import maps do not reach workers).
 */

import { attachHeap, createHeap, reclaimWhenGone, type Heap } from "hakmem";
import { makeId, rng, verifyBlock, writeBlock } from "../workers/blocks.js";
import { heapToolsWasm, MAX_PAGES } from "./wasm_module.js";
import { Ctl, HANDOFF_SLOTS, VICTIM_RING, type WorkerStart } from "./protocol.js";

const HAKMEM = import.meta.resolve("hakmem");

function expect(ok: boolean, what: string): asserts ok {
  if (!ok) throw new Error(`expected: ${what}`);
}

function expectEqual<T>(actual: T, expected: T, what: string): void {
  if (actual !== expected) throw new Error(`${what}: got ${String(actual)}, expected ${String(expected)}`);
}

/** Calls `fn`, which must throw an error of class `type` whose message contains every one of `parts`. */
function expectThrows(fn: () => unknown, type: ErrorConstructor, parts: string[], what: string): string {
  try {
    fn();
  } catch (e) {
    expect(e instanceof type, `${what} throws a ${type.name}, got ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
    for (const part of parts) expect(e.message.includes(part), `${what}: the message names "${part}": ${e.message}`);
    return e.message;
  }
  throw new Error(`${what} did not throw`);
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls `done` every 2 ms (the page cannot Atomics.wait) until it holds, at most `ms`. */
async function until(done: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!done()) {
    if (performance.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(2);
  }
}

type Message = { type: string } & Record<string, unknown>;

/** A module worker of this folder, started with hakmem's URL and `data`; its messages by type. */
class TestWorker {
  readonly worker: Worker;
  private readonly inbox: Message[] = [];
  private wake: () => void = () => {};
  /** The first failure it reported (a thrown error, a script that did not load). */
  failure: string | undefined;

  constructor(readonly name: string, data: object) {
    this.worker = new Worker(new URL(`./${name}.js`, import.meta.url), { type: "module", name });
    this.worker.onmessage = (e: MessageEvent) => {
      const msg = e.data as Message;
      if (msg.type === "error") this.failure ??= `${name}: ${String(msg.message)}`;
      else this.inbox.push(msg);
      this.wake();
    };
    this.worker.onerror = (e: ErrorEvent) => {
      this.failure ??= `${name}: ${e.message || "the worker failed to start"}`;
      this.wake();
    };
    this.worker.postMessage({ hakmem: HAKMEM, ...data } satisfies WorkerStart);
  }

  /** The next message of `type`; rejects when the worker fails or nothing comes within `ms`. */
  async next<T = Message>(type: string, ms = 30_000): Promise<T> {
    const deadline = performance.now() + ms;
    for (;;) {
      if (this.failure !== undefined) throw new Error(this.failure);
      const i = this.inbox.findIndex((m) => m.type === type);
      if (i >= 0) return this.inbox.splice(i, 1)[0] as T;
      const left = deadline - performance.now();
      if (left <= 0) throw new Error(`${this.name}: no "${type}" message within ${ms} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
    }
  }

  post(message: unknown): void {
    this.worker.postMessage(message);
  }
}

function expectClean(heap: Heap, what: string): void {
  const problems = heap.check().problems;
  if (problems.length > 0) throw new Error(`${what}: check() found ${problems.length} problem(s): ${problems.slice(0, 5).map((p) => p.message).join("; ")}`);
}

// ─── API round trips ───────────────────────────────────────────────────────────────────────

/**
 * The API in the page's main thread, over the default heap: a growable SharedArrayBuffer when
 * the page is cross-origin isolated, else the resizable ArrayBuffer createHeap() falls back to.
 */
export function apiRoundTrips(): Record<string, unknown> {
  const isolated = typeof SharedArrayBuffer !== "undefined";
  expectEqual(globalThis.crossOriginIsolated, isolated, "crossOriginIsolated where SharedArrayBuffer exists");
  const heap = createHeap({ maxBytes: 128 << 20 });
  const buf = heap.buffer;
  if (isolated) expect(buf instanceof SharedArrayBuffer && buf.growable, "the default heap is a growable SharedArrayBuffer");
  else expect(buf instanceof ArrayBuffer && buf.resizable, "the default heap falls back to a resizable ArrayBuffer");

  // Blocks of every kind (small, mid, large), each with a header and pattern; the heap grows.
  const r = rng(7);
  const blocks: { p: number; id: number }[] = [];
  for (let i = 0; i < 400; i++) {
    const len = i % 50 === 0 ? 300_000 + Math.floor(r() * 700_000) : i % 7 === 0 ? 2000 + Math.floor(r() * 60_000) : 8 + Math.floor(r() * 1000);
    const p = heap.malloc(len);
    expect(p !== 0 && p % 8 === 0, `malloc(${len}) gives an aligned block, got ${p}`);
    expect(heap.usableSize(p) >= len, `usableSize(${p}) >= ${len}`);
    writeBlock(heap, p, makeId(1, i), len);
    blocks.push({ p, id: makeId(1, i) });
  }
  const grown = heap.stats();
  expectEqual(grown.liveBlocks, 400, "stats().liveBlocks after 400 mallocs");
  expect(grown.growths >= 5, `the heap grew (growths ${grown.growths})`);
  for (const b of blocks) verifyBlock(heap, b.p, "block after growth", b.id);
  for (const b of blocks.splice(0, 200)) heap.free(b.p);
  for (const b of blocks) verifyBlock(heap, b.p, "block after freeing others", b.id);

  const z = heap.calloc(100, 8);
  expect(heap.u8.subarray(z, z + 800).every((v) => v === 0), "calloc zeroes");
  const q = heap.malloc(40);
  heap.u8.fill(9, q, q + 40);
  const q2 = heap.realloc(q, 5000);
  expect(heap.u8.subarray(q2, q2 + 40).every((v) => v === 9), "realloc keeps the contents");
  for (const align of [64, 4096, 1 << 20]) {
    const a = heap.alignedAlloc(align, 100);
    expectEqual(a % align, 0, `alignedAlloc(${align}) alignment`);
    heap.free(a);
  }
  const v = heap.mallocAs(Float64Array, 1000);
  expect(v !== null, "mallocAs");
  v.fill(1.5);
  const w = heap.reallocAs(v, 3000);
  expect(w !== null && w[999] === 1.5 && w.length === 3000, "reallocAs keeps the contents");
  heap.freeView(w);
  const s = heap.allocString("grüße, 世界");
  expect(s !== null, "allocString");
  expectEqual(heap.readString(s.ptr, s.len), "grüße, 世界", "readString of allocString");

  // Bad input: clear errors, the heap unchanged.
  expectThrows(() => heap.malloc(-1), RangeError, ["-1"], "malloc(-1)");
  expectThrows(() => heap.free(z + 8), RangeError, [String(z + 8)], "free of a pointer inside a block");
  expectThrows(() => heap.view(Float64Array, z + 4, 1), RangeError, [String(z + 4)], "a misaligned view");
  heap.free(z);
  expectThrows(() => heap.free(z), RangeError, [String(z)], "a double free");

  expectClean(heap, "after the round trips");
  let walked = 0;
  heap.walk(() => walked++);
  expectEqual(walked, heap.stats().liveBlocks, "walk() visits every live block");
  expect(heap.renderMap().startsWith("<svg"), "renderMap() draws an SVG");
  heap.free(q2);
  heap.free(s.ptr);
  for (const b of blocks) heap.free(b.p);
  heap.collect();
  const end = heap.stats();
  expectEqual(end.liveBlocks, 0, "liveBlocks at the end");
  expectEqual(end.heapBytes, 0, "heapBytes at the end");
  expectClean(heap, "at the end");
  heap.dispose();
  expectThrows(() => heap.malloc(8), Error, ["dispose"], "malloc after dispose()");
  return { buffer: buf.constructor.name, growths: grown.growths, peakHeapBytes: end.peakHeapBytes };
}

// ─── Without cross-origin isolation ───────────────────────────────────────────────────────

/**
 * A page without COOP/COEP: no SharedArrayBuffer. What works (a heap over a resizable
 * ArrayBuffer, over a fixed one, over a non-shared WebAssembly.Memory) and the errors of what
 * cannot, which must name the fix, never a ReferenceError.
 */
export function fallbackErrors(): Record<string, string> {
  expectEqual(typeof SharedArrayBuffer, "undefined", "typeof SharedArrayBuffer in a page without the headers");
  expectEqual(globalThis.crossOriginIsolated, false, "crossOriginIsolated");
  const headers = ["Cross-Origin-Opener-Policy: same-origin", "Cross-Origin-Embedder-Policy: require-corp", "crossOriginIsolated"];
  const sharedError = expectThrows(() => createHeap({ shared: true }), TypeError, headers, "createHeap({ shared: true })");

  const heap = createHeap();
  const handleError = expectThrows(() => heap.handle(), TypeError, ["SharedArrayBuffer", ...headers], "handle() of the fallen-back heap");
  expect(!handleError.includes("shared: true"), `handle() does not send the user to { shared: true }: ${handleError}`);
  const attachError = expectThrows(() => attachHeap({ memory: new ArrayBuffer(64) as never, base: 0 }), TypeError, ["SharedArrayBuffer"], "attachHeap over an ArrayBuffer");
  heap.dispose();

  // Other backings, each through a growth, a check and a walk.
  const memory = new WebAssembly.Memory({ initial: 2, maximum: 512 });
  for (const buffer of [memory, new ArrayBuffer(8 << 20), new ArrayBuffer(2 << 20, { maxByteLength: 64 << 20 })]) {
    const h = createHeap({ buffer });
    const ps: number[] = [];
    for (let i = 0; i < 40; i++) {
      const p = h.malloc(100_000);
      if (p === 0) break;
      writeBlock(h, p, makeId(2, i), 100_000);
      ps.push(p);
    }
    expect(ps.length >= 40 || buffer instanceof ArrayBuffer, `a heap over a growable ${buffer.constructor.name} grows`);
    ps.forEach((p, i) => verifyBlock(h, p, `block over ${buffer.constructor.name}`, makeId(2, i)));
    expectClean(h, `heap over ${buffer.constructor.name}`);
    h.walk(() => {});
    for (const p of ps) h.free(p);
    h.collect();
    expectEqual(h.stats().liveBlocks, 0, "liveBlocks after freeing all");
    h.dispose();
  }
  return { sharedError, handleError, attachError };
}

// ─── Workers ──────────────────────────────────────────────────────────────────────────────

/**
 * N module workers on one heap: they allocate at once (the heap grows under all of them), then
 * each verifies and frees the next one's blocks. Stats are exact at each quiet point and check()
 * is clean.
 */
export async function workersExchange(n: number, blocks: number): Promise<Record<string, number>> {
  const heap = createHeap({ maxBytes: 1 << 30 });
  const slots = new Int32Array(new SharedArrayBuffer(4 * n * blocks));
  const workers = Array.from({ length: n }, (_, index) =>
    new TestWorker("exchanger", { handle: heap.handle(), index, blocks, slots: slots.buffer, seed: 1000 + index }),
  );
  const threadIds = (await Promise.all(workers.map((w) => w.next<{ threadId: number }>("allocated")))).map((m) => m.threadId);
  expectEqual(new Set(threadIds).size, n, "distinct thread ids");
  const full = heap.stats();
  expectEqual(full.liveBlocks, n * blocks, "stats().liveBlocks once every worker allocated");
  let usable = 0;
  for (let i = 0; i < n * blocks; i++) usable += heap.usableSize(slots[i]!);
  expectEqual(full.liveBytes, usable, "stats().liveBytes = the sum of the blocks' usable sizes");
  expect(full.growths >= 15, `the heap grew at least 15 times while the workers allocated (growths ${full.growths})`);
  expectEqual(full.threads.length, n + 1, "stats().threads: the page and the workers");
  for (let i = 0; i < n * blocks; i++) verifyBlock(heap, slots[i]!, `block ${i} read by the page`, makeId(Math.floor(i / blocks), i % blocks));
  expectClean(heap, "once every worker allocated");

  workers.forEach((w, i) => w.post({ type: "free", from: (i + 1) % n }));
  await Promise.all(workers.map((w) => w.next("freed")));
  const freed = heap.stats();
  expectEqual(freed.liveBlocks, 0, "stats().liveBlocks after the cross-worker frees");
  expectEqual(freed.liveBytes, 0, "stats().liveBytes after the cross-worker frees");
  expectClean(heap, "after the cross-worker frees");

  workers.forEach((w) => w.post({ type: "dispose" }));
  await Promise.all(workers.map((w) => w.next("disposed")));
  workers.forEach((w) => w.worker.terminate());
  heap.collect();
  const end = heap.stats();
  expectEqual(end.heapBytes, 0, "heapBytes once the workers disposed and the page collected");
  expectEqual(end.segmentsInUse, 0, "segmentsInUse at the end");
  expectEqual(end.threads.length, 1, "stats().threads at the end: the page");
  expectClean(heap, "at the end");
  heap.dispose();
  return { workers: n, blocks: n * blocks, growths: full.growths, peakHeapBytes: end.peakHeapBytes, mappedBytes: end.mappedBytes };
}

/**
 * A heap in a shared WebAssembly.Memory, used by a wasm module in two workers: the module reads
 * blocks the page wrote, copies them into blocks it allocates through the heap (growing the
 * Memory from inside wasm, in both workers at once), and each worker verifies and frees the other's
 * copies.
 */
export async function sharedWasmMemory(): Promise<Record<string, number>> {
  const memory = new WebAssembly.Memory({ initial: 1, maximum: MAX_PAGES, shared: true });
  const heap = createHeap({ buffer: memory, base: 1024 });
  const module = await WebAssembly.compile(heapToolsWasm() as BufferSource);
  const ptrs: number[] = [];
  const ids: number[] = [];
  for (let i = 0; i < 24; i++) {
    const len = 16 + ((i * 40_009) % 200_000);
    const p = heap.malloc(len);
    writeBlock(heap, p, makeId(0, i), len);
    ptrs.push(p);
    ids.push(makeId(0, i));
  }
  const bytesBefore = memory.buffer.byteLength;
  const users = [1, 2].map((origin) => new TestWorker("wasm_user", { handle: heap.handle(), module, origin }));
  await Promise.all(users.map((u) => u.next("ready")));

  users[0]!.post({ type: "sum", ptr: ptrs[5]!, len: 4096 });
  const sum = await users[0]!.next<{ wasm: number; js: number }>("sum");
  let expected = 0;
  for (let k = 0; k < 4096; k++) expected += heap.u8[ptrs[5]! + k]!;
  expect(sum.wasm === expected && sum.js === expected, `the module's sum in a worker (${sum.wasm}) = JS's there (${sum.js}) = the page's (${expected})`);

  users.forEach((u) => u.post({ type: "dup", ptrs, ids }));
  const copies = (await Promise.all(users.map((u) => u.next<{ copies: number[] }>("dup")))).map((m) => m.copies);
  const bytesAfter = memory.buffer.byteLength;
  expect(bytesAfter > bytesBefore, `the Memory grew while the workers' module allocated (${bytesBefore} -> ${bytesAfter} bytes)`);
  copies.flat().forEach((q, i) => verifyBlock(heap, q, `copy ${i} read by the page`, ids[i % ids.length]));
  expectEqual(heap.stats().liveBlocks, 3 * ptrs.length, "stats().liveBlocks: the page's blocks and both workers' copies");
  expectClean(heap, "after the copies");

  users[0]!.post({ type: "free", ptrs: copies[1], ids });
  users[1]!.post({ type: "free", ptrs: copies[0], ids });
  await Promise.all(users.map((u) => u.next("free")));
  expectEqual(heap.stats().liveBlocks, ptrs.length, "stats().liveBlocks after the cross-worker frees");
  users.forEach((u) => u.post({ type: "dispose" }));
  await Promise.all(users.map((u) => u.next("dispose")));
  users.forEach((u) => u.worker.terminate());
  for (const p of ptrs) heap.free(p);
  heap.collect();
  expectEqual(heap.stats().heapBytes, 0, "heapBytes at the end");
  expectClean(heap, "at the end");
  heap.dispose();
  return { bytesBefore, bytesAfter, sum: sum.wasm };
}

/**
 * The page's main thread cannot Atomics.wait. With the heap lock held by a worker that never
 * lets go (as one terminated inside the heap does), a heap call that needs the lock gives up
 * after about a second with an error that names the fix, instead of hanging the page; after
 * reclaimWhenGone the same call succeeds.
 */
export async function mainThreadGivesUp(): Promise<{ waitedMs: number; message: string }> {
  const heap = createHeap({ maxBytes: 64 << 20 });
  const holder = new TestWorker("lock_holder", { handle: heap.handle() });
  const { threadId } = await holder.next<{ threadId: number }>("locked");
  const t0 = performance.now();
  const message = expectThrows(() => heap.malloc(4 << 20), Error, [`thread ${threadId}`, "reclaimWhenGone"], "malloc needing the lock a worker holds");
  const waitedMs = performance.now() - t0;
  holder.worker.terminate();
  await reclaimWhenGone(heap, holder.worker, threadId);
  const p = heap.malloc(4 << 20);
  expect(p !== 0, "malloc succeeds once the holder was reclaimed");
  heap.free(p);
  expectClean(heap, "after the reclaim");
  heap.dispose();
  return { waitedMs, message };
}

// ─── Terminate and reclaim ────────────────────────────────────────────────────────────────

export interface RoundsOptions {
  rounds: number;
  /** Every busyEvery-th round also has busyPerRound busy victims. */
  busyEvery: number;
  busyPerRound: number;
  /**
   * In every unregisteredEvery-th busy round, half its busy victims do not wait for their
   * liveness lock before running on (their lock never reaches the lock manager); the others do.
   * 0: none.
   */
  unregisteredEvery: number;
  survivors: number;
  /**
   * "whenGone": reclaimWhenGone right after terminate() (what the package advises);
   * "immediately": reclaimThread(id, { ended: true }) right after terminate() (the race, as a
   * control: the check then waits until the victims are really gone, so what it finds is damage).
   */
  reclaim: "whenGone" | "immediately";
}

export interface RoundsReport {
  rounds: number;
  busyVictims: number;
  /** Busy victims whose liveness lock the lock manager never showed before terminate(). */
  unregisteredVictims: number;
  idleVictims: number;
  /** Rounds after which check() or a block verification found damage, or a worker failed. */
  corruptRounds: number;
  firstProblems: string[];
  /** terminate() → reclaimWhenGone resolved, per victim (ms). */
  busyStopMs: number[];
  idleStopMs: number[];
  /** Steps (each a free and a malloc, or more) a busy victim made after terminate(). */
  busyStepsAfterTerminate: number[];
  pagesTakenOver: number;
  survivorOps: number;
  handoffs: number;
  /** Blocks still live at the end, and the most the victims could have lost. */
  liveBlocksLeft: number;
  lossBound: number;
  seconds: number;
}

interface Victim {
  tw: TestWorker;
  go: Int32Array;
  busy: boolean;
  position: number;
  threadId: number;
  ringPtr: Int32Array;
  ringId: Int32Array;
}

/** Resolves when Web Lock `name` can be had: its holder has released it or ended. */
async function lockFree(name: string): Promise<void> {
  await navigator.locks.request(name, async () => {});
}

/**
 * Rounds of victims terminated while survivors allocate, free and free the victims' blocks. Each
 * round: start the round's victims (one idle; on every busyEvery-th round also busy ones), let
 * everyone churn a little, terminate() the victims, reclaim them, pause the survivors, check(),
 * verify and free the dead victims' blocks, resume.
 */
export async function terminateAndReclaim(o: RoundsOptions): Promise<RoundsReport> {
  const t0 = performance.now();
  const heap = createHeap({ maxBytes: 1 << 30 });
  const positions = 1 + o.busyPerRound;
  const sab = (words: number): SharedArrayBuffer => new SharedArrayBuffer(4 * words);
  const ctl = new Int32Array(sab(Ctl.WORDS));
  const handoffPtr = new Int32Array(sab(positions * HANDOFF_SLOTS));
  const handoffId = new Int32Array(sab(positions * HANDOFF_SLOTS));
  const common = { handle: heap.handle(), ctl: ctl.buffer, handoffPtr: handoffPtr.buffer, handoffId: handoffId.buffer };
  const survivors = Array.from({ length: o.survivors }, (_, index) =>
    new TestWorker("survivor", { ...common, index, survivors: o.survivors, origin: 1 + index, seed: 77 + index }),
  );
  await Promise.all(survivors.map((s) => s.next("ready")));

  const report: RoundsReport = {
    rounds: 0, busyVictims: 0, unregisteredVictims: 0, idleVictims: 0, corruptRounds: 0, firstProblems: [], busyStopMs: [], idleStopMs: [],
    busyStepsAfterTerminate: [], pagesTakenOver: 0, survivorOps: 0, handoffs: 0, liveBlocksLeft: 0, lossBound: 0, seconds: 0,
  };
  let pauses = 0;
  let origin = 16;
  const failed = (what: string): void => {
    if (report.firstProblems.length < 8) report.firstProblems.push(what);
  };
  const survivorFailure = (): string | undefined => survivors.find((s) => s.failure !== undefined)?.failure;

  /** The victims of `round`, started (their modules load) but not attached until their go word is set. */
  const startVictims = (round: number): Victim[] => {
    const busyRound = round % o.busyEvery === o.busyEvery - 1;
    const unregisteredRound = busyRound && o.unregisteredEvery > 0 && Math.floor(round / o.busyEvery) % o.unregisteredEvery === 0;
    const victims: Victim[] = [];
    for (let position = 0; position < (busyRound ? positions : 1); position++) {
      const busy = position > 0;
      const registerFirst = !(unregisteredRound && position > o.busyPerRound / 2);
      const go = new Int32Array(sab(1));
      const ringPtr = new Int32Array(sab(VICTIM_RING));
      const ringId = new Int32Array(sab(VICTIM_RING));
      const tw = new TestWorker("victim", {
        ...common, go: go.buffer, busy, registerFirst, position, ringPtr: ringPtr.buffer, ringId: ringId.buffer, origin: origin++ & 0x3ff,
        seed: 1 + round * 8 + position, steps: busy ? 300 : 500,
      });
      victims.push({ tw, go, busy, position, threadId: 0, ringPtr, ringId });
    }
    return victims;
  };

  let next = startVictims(0);
  for (let round = 0; round < o.rounds; round++) {
    const victims = next;
    for (const v of victims) {
      Atomics.store(v.go, 0, 1);
      Atomics.notify(v.go, 0);
    }
    if (round + 1 < o.rounds) next = startVictims(round + 1); // its modules load meanwhile
    for (const v of victims) v.threadId = (await v.tw.next<{ threadId: number }>("ready")).threadId;
    await sleep(10 + ((round * 7) % 40));

    const held = (await navigator.locks.query()).held ?? [];
    const lockOf = (v: Victim): string => `hakmem:${(heap.heapId >>> 0).toString(16)}:${v.threadId}`;
    report.unregisteredVictims += victims.filter((v) => v.busy && !held.some((l) => l.name === lockOf(v))).length;
    const progressAt = victims.map((v) => Atomics.load(ctl, Ctl.VICTIM_PROGRESS + v.position));
    const stopped = performance.now();
    for (const v of victims) v.tw.worker.terminate();
    let problems: string[] = [];
    try {
      if (o.reclaim === "whenGone") {
        await Promise.all(
          victims.map(async (v, i) => {
            report.pagesTakenOver += await reclaimWhenGone(heap, v.tw.worker, v.threadId);
            const ms = performance.now() - stopped;
            if (v.busy) {
              report.busyStopMs.push(Math.round(ms));
              report.busyStepsAfterTerminate.push(Atomics.load(ctl, Ctl.VICTIM_PROGRESS + v.position) - progressAt[i]!);
            } else {
              report.idleStopMs.push(Math.round(ms));
            }
          }),
        );
      } else {
        for (const v of victims) report.pagesTakenOver += heap.reclaimThread(v.threadId, { ended: true });
        // Check only once they are really gone: what check() finds then is damage, not motion.
        await Promise.all(victims.map((v) => lockFree(lockOf(v))));
      }
      report.busyVictims += victims.filter((v) => v.busy).length;
      report.idleVictims += victims.filter((v) => !v.busy).length;

      const requested = ++pauses;
      Atomics.store(ctl, Ctl.PAUSE_REQ, requested);
      await until(() => survivorFailure() !== undefined || Atomics.load(ctl, Ctl.ACKS) === requested * o.survivors, 15_000, `the survivors to pause after round ${round}`);
      const failure = survivorFailure();
      if (failure !== undefined) problems.push(failure);
      problems.push(...heap.check().problems.map((p) => p.message));
      for (const v of victims) {
        for (let k = 0; k < VICTIM_RING; k++) {
          const p = v.ringPtr[k]!;
          if (p === 0) continue;
          try {
            verifyBlock(heap, p, `dead victim's ring slot ${k}`, v.ringId[k]! >>> 0);
            heap.free(p);
          } catch (e) {
            problems.push((e as Error).message);
            break;
          }
        }
      }
      Atomics.store(ctl, Ctl.RESUMED, requested);
      Atomics.notify(ctl, Ctl.RESUMED);
    } catch (e) {
      problems.push((e as Error).message);
    }
    report.rounds = round + 1;
    if (problems.length > 0) {
      report.corruptRounds++;
      problems.slice(0, 3).forEach((p) => failed(`round ${round}: ${p}`));
      if (o.reclaim === "whenGone") throw new Error(`round ${round}: ${problems.slice(0, 5).join("; ")}`);
      break; // the control: the heap is damaged, the rest of the run would measure nothing
    }
  }

  Atomics.store(ctl, Ctl.STOP, 1);
  if (report.corruptRounds > 0) {
    next.forEach((v) => v.tw.worker.terminate());
    survivors.forEach((s) => s.worker.terminate());
  } else {
    const ops = await Promise.all(survivors.map((s) => s.next<{ ops: number }>("stopped")));
    survivors.forEach((s) => s.worker.terminate());
    for (let i = 0; i < handoffPtr.length; i++) {
      const p = handoffPtr[i]!;
      if (p === 0) continue;
      verifyBlock(heap, p, `handoff slot ${i} at the end`, handoffId[i]! >>> 0);
      heap.free(p);
    }
    heap.collect();
    // Per dead victim at most a block malloc returned but no slot held yet, and one its cache
    // had taken off a list when it was stopped: lost with it, as in any program.
    report.lossBound = 2 * (report.busyVictims + report.idleVictims);
    report.liveBlocksLeft = heap.stats().liveBlocks;
    expect(report.liveBlocksLeft <= report.lossBound, `${report.liveBlocksLeft} blocks left at the end, at most ${report.lossBound}`);
    expectClean(heap, "at the end");
    report.survivorOps = ops.reduce((a, m) => a + m.ops, 0);
  }
  report.handoffs = Atomics.load(ctl, Ctl.HANDOFFS);
  report.seconds = (performance.now() - t0) / 1000;
  return report;
}
