/**
 * stress — the main-thread side of the multi-worker stress test, shared by multiworker.test.ts
 * (a few short rounds) and soak.ts (rounds for as long as asked).
 *
 * One heap (a growable SharedArrayBuffer) and one transfer array for the whole run. Each round
 * starts `workers` stress workers (stress_worker.ts) at once; half of them end with dispose(),
 * the other half go idle and are terminated, and the main thread reclaims their pages with
 * reclaimThread(tid) while the others may still run. The blocks left in the transfer array
 * survive into the next round, whose workers verify them when they take them out.
 *
 * Checked after every worker: a disposed worker left no page to reclaim (reclaimThread → 0), a
 * terminated one that allocated left pages (> 0) and a second reclaim finds none. After every round (no worker
 * running): every block in the transfer array verifies, no two of them overlap, and stats()
 * counts exactly those blocks live. At the end: the main thread frees them all, collect(), and
 * stats() must show nothing live and no page in use.
 *
 * Failures are thrown as Errors; a round that does not finish in time (a deadlock, a lost worker)
 * fails with the state of every worker.
 */

import { Worker } from "node:worker_threads";
import { createHeap, type Heap, type HeapStats } from "../../src/index.js";
import { verifyBlock } from "./blocks.js";
import { Ctl, type Ending, type StressCounts, type StressMessage, type StressWorkerData } from "./protocol.js";

export interface StressOptions {
  /** Workers per round. */
  workers: number;
  /** Rounds to run (when `seconds` is not given). */
  rounds?: number;
  /** Operations per worker per round (when `seconds` is not given). */
  iterations?: number;
  /** Run for this long, in rounds of `roundSeconds`, each worker looping until its round ends. */
  seconds?: number;
  roundSeconds?: number;
  /** Most blocks a worker keeps at once (besides the transfer array). */
  retain: number;
  /** Slots of the transfer array. */
  transferSlots: number;
  seed: number;
  maxBytes: number;
  /** Create the heap in checked mode. */
  checked?: boolean;
  /** A round that takes longer than this fails (deadlock or lost worker). */
  roundTimeoutMs: number;
  log?: (line: string) => void;
}

export interface WorkerSummary {
  origin: number;
  tid: number;
  ending: Ending;
  counts: StressCounts;
  /** Pages reclaimThread(tid) took over after the worker ended (0 expected after dispose). */
  reclaimed: number;
}

export interface RoundSummary {
  round: number;
  ms: number;
  workers: WorkerSummary[];
  /** Blocks in the transfer array after the round (all verified), and their usable bytes. */
  transferBlocks: number;
  transferBytes: number;
  stats: HeapStats;
}

export interface StressSummary {
  rounds: RoundSummary[];
  totals: StressCounts;
  /** Blocks the main thread freed from the transfer array at the end. */
  finalFrees: number;
  /** Pages collect() released at the end. */
  collected: number;
  /** stats() after the final frees and collect(). */
  final: HeapStats;
  ms: number;
}

const WORKER_URL = new URL("./stress_worker.js", import.meta.url);

export function emptyCounts(): StressCounts {
  return {
    ops: 0, allocs: 0, frees: 0, transfersIn: 0, transfersOut: 0, transferFrees: 0, crossFrees: 0, fromEarlierRounds: 0,
    reallocs: 0, callocs: 0, aligned: 0, largest: 0,
  };
}

export function addCounts(into: StressCounts, c: StressCounts): void {
  for (const k of Object.keys(into) as (keyof StressCounts)[]) {
    into[k] = k === "largest" ? Math.max(into[k], c[k]) : into[k] + c[k];
  }
}

/** Heap.check() where it is implemented (it may still be a stub that throws "being written"). */
function tryCheck(heap: Heap): { ok: boolean; problems: unknown[] } | undefined {
  try {
    return heap.check();
  } catch (e) {
    if (e instanceof Error && /being written/.test(e.message)) return undefined;
    throw e;
  }
}

/**
 * Verifies every block in the transfer array (no worker may be running), checks that no two
 * overlap and that stats() counts exactly them live. Returns their number and usable bytes.
 */
export function verifyTransferArray(heap: Heap, transfer: Int32Array, checked: boolean, what: string): { blocks: number; bytes: number; stats: HeapStats } {
  const spans: [number, number, number][] = [];
  let bytes = 0;
  for (let i = 0; i < transfer.length; i++) {
    const p = Atomics.load(transfer, i) >>> 0;
    if (p === 0) continue;
    const h = verifyBlock(heap, p, `${what}: transfer slot ${i}`);
    const usable = heap.usableSize(p);
    spans.push([p, usable, h.id]);
    bytes += usable;
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    const [p, n, id] = spans[i - 1]!;
    const [q, , id2] = spans[i]!;
    if (p + n > q) throw new Error(`${what}: blocks #${id} [${p}, ${p + n}) and #${id2} at ${q} overlap (or one pointer is in two slots)`);
  }
  const stats = heap.stats();
  if (stats.liveBlocks !== spans.length) {
    throw new Error(`${what}: stats().liveBlocks = ${stats.liveBlocks}, but the transfer array holds ${spans.length} blocks and no worker runs`);
  }
  // In checked mode usableSize is the request, while stats count whole blocks.
  if (!checked && stats.liveBytes !== bytes) {
    throw new Error(`${what}: stats().liveBytes = ${stats.liveBytes}, but the ${spans.length} blocks of the transfer array have ${bytes} usable bytes`);
  }
  const report = tryCheck(heap);
  if (report !== undefined && !report.ok) {
    throw new Error(`${what}: heap.check() found problems: ${JSON.stringify(report.problems.slice(0, 5))}`);
  }
  return { blocks: spans.length, bytes, stats };
}

interface Running {
  worker: Worker;
  origin: number;
  ending: Ending;
  tid: number;
  state: "starting" | "attached" | "done" | "disposed" | "idle" | "terminated" | "finished" | "failed";
}

/** Runs a stress test as configured; throws on the first failure. */
export async function runStress(o: StressOptions): Promise<StressSummary> {
  const t0 = performance.now();
  const log = o.log ?? (() => {});
  const checked = o.checked ?? false;
  const heap = createHeap({ shared: true, maxBytes: o.maxBytes, ...(checked ? { check: true } : {}) });
  const handle = heap.handle();
  const transfer = new Int32Array(new SharedArrayBuffer(4 * o.transferSlots));
  const control = new Int32Array(new SharedArrayBuffer(4 * Ctl.WORDS));
  const rounds: RoundSummary[] = [];
  const totals = emptyCounts();
  let origin = 0;
  const deadline = o.seconds === undefined ? Infinity : t0 + o.seconds * 1000;
  const roundCount = o.seconds === undefined ? (o.rounds ?? 3) : Infinity;

  for (let round = 0; round < roundCount && performance.now() < deadline; round++) {
    const r0 = performance.now();
    Atomics.store(control, Ctl.STOP, 0);
    const running: Running[] = [];
    const jobs: Promise<WorkerSummary>[] = [];
    const roundBase = origin;
    for (let i = 0; i < o.workers; i++) {
      const data: StressWorkerData = {
        handle,
        transfer: transfer.buffer as SharedArrayBuffer,
        control: control.buffer as SharedArrayBuffer,
        origin: origin++,
        roundBase,
        roundSize: o.workers,
        seed: (o.seed * 1000003 + round * 7919 + i * 104729) | 0,
        iterations: o.seconds === undefined ? (o.iterations ?? 20000) : Infinity,
        retain: o.retain,
        ending: i % 2 === 0 ? "dispose" : "terminate",
        checked,
      };
      const run: Running = { worker: new Worker(WORKER_URL, { workerData: data }), origin: data.origin, ending: data.ending, tid: 0, state: "starting" };
      running.push(run);
      jobs.push(watch(heap, run));
    }
    let stopTimer: NodeJS.Timeout | undefined;
    if (o.seconds !== undefined) {
      const roundMs = Math.min((o.roundSeconds ?? 3) * 1000, Math.max(100, deadline - performance.now()));
      stopTimer = setTimeout(() => Atomics.store(control, Ctl.STOP, 1), roundMs);
    }
    let timeout: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timeout = setTimeout(() => {
        const states = running.map((w) => `origin ${w.origin} tid ${w.tid} (${w.ending}): ${w.state}`).join("; ");
        reject(new Error(`round ${round}: not finished after ${o.roundTimeoutMs} ms (deadlock?): ${states}`));
      }, o.roundTimeoutMs);
    });
    let workers: WorkerSummary[];
    try {
      workers = await Promise.race([Promise.all(jobs), timedOut]);
    } catch (e) {
      Atomics.store(control, Ctl.STOP, 1);
      await Promise.all(running.map((w) => w.worker.terminate().catch(() => 0)));
      throw e;
    } finally {
      clearTimeout(timeout);
      clearTimeout(stopTimer);
    }
    for (const w of workers) addCounts(totals, w.counts);
    const after = verifyTransferArray(heap, transfer, checked, `after round ${round}`);
    const summary: RoundSummary = {
      round,
      ms: performance.now() - r0,
      workers,
      transferBlocks: after.blocks,
      transferBytes: after.bytes,
      stats: after.stats,
    };
    rounds.push(summary);
    const ops = workers.reduce((s, w) => s + w.counts.ops, 0);
    const cross = workers.reduce((s, w) => s + w.counts.crossFrees, 0);
    log(
      `round ${round}: ${workers.length} workers (tids ${workers.map((w) => w.tid).join(",")}), ${ops} ops, ` +
        `${cross} cross-worker frees, reclaimed pages ${workers.filter((w) => w.ending === "terminate").map((w) => w.reclaimed).join(",")}; ` +
        `${after.blocks} blocks (${(after.bytes / 1048576).toFixed(1)} MiB) survive in the transfer array; ` +
        `heap ${(after.stats.heapBytes / 1048576).toFixed(1)} MiB in use, ${(after.stats.mappedBytes / 1048576).toFixed(1)} MiB mapped, ` +
        `${after.stats.growths} growths; ${summary.ms.toFixed(0)} ms`,
    );
  }

  // The end: free what survived, collect, and nothing may be left.
  let finalFrees = 0;
  for (let i = 0; i < transfer.length; i++) {
    const p = Atomics.exchange(transfer, i, 0) >>> 0;
    if (p === 0) continue;
    verifyBlock(heap, p, `final free: transfer slot ${i}`);
    heap.free(p);
    finalFrees++;
  }
  const collected = heap.collect();
  const final = heap.stats();
  if (final.liveBlocks !== 0 || final.liveBytes !== 0 || final.heapBytes !== 0 || final.segmentsInUse !== 0) {
    throw new Error(
      `after freeing every block and collect(): liveBlocks ${final.liveBlocks}, liveBytes ${final.liveBytes}, ` +
        `heapBytes ${final.heapBytes}, segmentsInUse ${final.segmentsInUse} (all expected 0); classes ${JSON.stringify(final.classes)}`,
    );
  }
  const report = tryCheck(heap);
  if (report !== undefined && !report.ok) throw new Error(`at the end: heap.check() found problems: ${JSON.stringify(report.problems.slice(0, 5))}`);
  log(`end: freed ${finalFrees} blocks from the transfer array, collect() released ${collected} pages; heap empty, ${final.growths} growths, peak ${(final.peakHeapBytes / 1048576).toFixed(1)} MiB`);
  heap.dispose();
  return { rounds, totals, finalFrees, collected, final, ms: performance.now() - t0 };
}

/**
 * Follows one stress worker to its end: dispose (then it must own no page), or idle (then it is
 * terminated and its pages reclaimed).
 */
function watch(heap: Heap, run: Running): Promise<WorkerSummary> {
  return new Promise<WorkerSummary>((resolve, reject) => {
    const w = run.worker;
    let counts: StressCounts | undefined;
    const fail = (message: string) => {
      run.state = "failed";
      reject(new Error(`worker origin ${run.origin} tid ${run.tid} (${run.ending}): ${message}`));
    };
    w.on("message", (m: StressMessage) => {
      switch (m.type) {
        case "attached":
          run.tid = m.tid;
          run.state = "attached";
          break;
        case "done":
          counts = m.counts;
          run.state = "done";
          break;
        case "disposed":
          run.state = "disposed";
          break;
        case "idle":
          run.state = "idle";
          w.terminate().then(
            () => {
              run.state = "terminated";
              try {
                const reclaimed = heap.reclaimThread(run.tid, { ended: true }); // terminate() resolved: it has ended
                const again = heap.reclaimThread(run.tid);
                // A worker that started after its round was over allocated nothing and owns no page.
                if (reclaimed <= 0 && counts!.allocs > 0) return fail(`reclaimThread(${run.tid}) after terminate() returned ${reclaimed}; the worker owned pages (it allocated ${counts!.allocs} blocks)`);
                if (again !== 0) return fail(`a second reclaimThread(${run.tid}) returned ${again}, expected 0`);
                run.state = "finished";
                resolve({ origin: run.origin, tid: run.tid, ending: run.ending, counts: counts!, reclaimed });
              } catch (e) {
                fail(`reclaimThread threw ${(e as Error).stack ?? e}`);
              }
            },
            (e) => fail(`terminate() failed: ${e}`),
          );
          break;
      }
    });
    w.on("error", (e) => fail(`threw ${e.stack ?? e}`));
    w.on("exit", (code) => {
      if (run.ending !== "dispose") {
        if (!["idle", "terminated", "finished", "failed"].includes(run.state)) fail(`exited (code ${code}) before going idle`);
        return;
      }
      if (run.state === "failed") return;
      if (run.state !== "disposed" || code !== 0) return fail(`exited with code ${code} in state ${run.state}, before disposing`);
      try {
        const reclaimed = heap.reclaimThread(run.tid);
        if (reclaimed !== 0) return fail(`reclaimThread(${run.tid}) after dispose() returned ${reclaimed}, expected 0 (dispose abandons every page)`);
      } catch (e) {
        return fail(`reclaimThread threw ${(e as Error).stack ?? e}`);
      }
      run.state = "finished";
      resolve({ origin: run.origin, tid: run.tid, ending: run.ending, counts: counts!, reclaimed: 0 });
    });
  });
}
