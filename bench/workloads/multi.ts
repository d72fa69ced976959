/**
 * multi — the main-thread side of the multi-worker workloads (larson.ts, mid_large_mt.ts,
 * xthread.ts): starting a team of worker_threads, the start barrier, the clock, collecting what
 * the workers report, and tearing the team down.
 *
 * The clock (see workers/protocol.ts for the control block): every worker first does its setup —
 * loads the peer, attaches, warms its loop up on a private instance of the same class, fills its
 * blocks when the workload says so — then counts itself READY and blocks on GO. When all are
 * ready the main thread reads process.hrtime and sets GO: that is t0. Each worker that ends the
 * run writes its own process.hrtime when its timed part is over; t1 is the latest of those. So
 * worker start-up (tens of ms per worker in Node) is outside the clock; everything the workers do
 * after GO — including hand-overs between workers and `dispose` — is inside it.
 * Workers never exit while the clock runs (an isolate's teardown would compete for the cores):
 * they stay parked until `close()` terminates them.
 *
 * The main thread never blocks: it waits with Atomics.waitAsync, so worker "error" and "exit"
 * events still arrive, and any of them fails the run with the worker's message.
 */

import { Worker, type TransferListItem } from "node:worker_threads";
import { Ctl, ctlBytes, type WorkerMessage, type WorkerResult } from "../workers/protocol.js";

/** A SharedArrayBuffer-backed Int32Array of `n` words, zeroed. */
export function sharedInt32(n: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer(Math.max(1, n) * 4));
}

/** URL of a compiled worker script in build/bench/workers/. */
export function workerScript(name: string): URL {
  return new URL(`../workers/${name}`, import.meta.url);
}

export interface WorkerSpec {
  script: URL;
  data: unknown;
  transferList?: TransferListItem[];
}

/** Pause between the last worker ready and GO. */
const SETTLE_MS = 100;

/** How long any wait of the main thread may take before the run is declared hung. */
const WAIT_LIMIT_MS = 5 * 60 * 1000;

export class Team {
  readonly ctlBuffer: SharedArrayBuffer;
  readonly ctl: Int32Array;
  private readonly workers: Worker[] = [];
  private readonly results = new Map<number, WorkerResult>();
  private failure: Error | null = null;
  private closing = false;
  private wake: (() => void) | null = null;

  constructor(readonly size: number) {
    this.ctlBuffer = new SharedArrayBuffer(ctlBytes(size));
    this.ctl = new Int32Array(this.ctlBuffer);
  }

  /** Starts worker `index` (0 ≤ index < size). Its data must carry `ctl: this.ctlBuffer` and `index`. */
  start(index: number, spec: WorkerSpec): void {
    const w = new Worker(spec.script, { workerData: spec.data, transferList: spec.transferList });
    w.on("message", (m: WorkerMessage) => {
      if (m.type === "result") this.results.set(m.index, m);
      else this.fail(new Error(`worker ${m.index}: ${m.message}`));
      this.wake?.();
    });
    w.on("error", (e: Error) => this.fail(new Error(`worker ${index} threw: ${e.stack ?? e.message}`)));
    w.on("exit", (code) => {
      if (!this.closing) this.fail(new Error(`worker ${index} exited (code ${code}) before the run ended`));
    });
    this.workers.push(w);
  }

  private fail(e: Error): void {
    this.failure ??= e;
    Atomics.store(this.ctl, Ctl.ERROR, 1);
    for (const word of [Ctl.READY, Ctl.GO, Ctl.DONE]) Atomics.notify(this.ctl, word);
    this.wake?.();
  }

  /** Resolves when word `at` of the control block reaches `target`; rejects on any worker failure. */
  private async waitWord(at: number, target: number, what: string): Promise<void> {
    const deadline = performance.now() + WAIT_LIMIT_MS;
    for (;;) {
      if (this.failure !== null) throw this.failure;
      const v = Atomics.load(this.ctl, at);
      if (v >= target) return;
      if (performance.now() > deadline) throw new Error(`timed out waiting for ${what} (${v} of ${target})`);
      const r = Atomics.waitAsync(this.ctl, at, v, 200);
      if (r.async) await r.value;
    }
  }

  /** Waits until every worker is ready, then sets GO; returns t0 (hrtime, ns). */
  async go(): Promise<number> {
    await this.waitWord(Ctl.READY, this.size, "the workers to be ready");
    // Let the workers' background work (V8's concurrent compilation of what their warm-up made
    // hot, GC) finish before the clock starts, rather than compete with the timed part.
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
    const t0 = Number(process.hrtime.bigint());
    if (process.env.BENCH_DEBUG === "1") process.stderr.write(`GO at ${(t0 / 1e6).toFixed(1)} ms\n`);
    Atomics.store(this.ctl, Ctl.GO, 1);
    Atomics.notify(this.ctl, Ctl.GO);
    return t0;
  }

  /**
   * Waits until `ending` workers have ended their timed part and every worker has posted its
   * result; returns t1 (the latest end time of the workers in `endIndices`) and the results.
   */
  async finish(ending: number, endIndices: readonly number[]): Promise<{ t1: number; results: WorkerResult[] }> {
    await this.waitWord(Ctl.DONE, ending, "the workers to end");
    const deadline = performance.now() + WAIT_LIMIT_MS;
    while (this.results.size < this.size) {
      if (this.failure !== null) throw this.failure;
      if (performance.now() > deadline) throw new Error(`timed out waiting for the workers' results (${this.results.size} of ${this.size})`);
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 200);
      });
      this.wake = null;
    }
    if (this.failure !== null) throw this.failure;
    const ends = new BigInt64Array(this.ctlBuffer, Ctl.END_WORD * 4, this.size);
    let t1 = 0;
    for (const i of endIndices) t1 = Math.max(t1, Number(ends[i]));
    return { t1, results: [...this.results.values()].sort((a, b) => a.index - b.index) };
  }

  /** Terminates every worker (untimed). */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/** Runs `body` with a team of `size` workers, always terminating them afterwards. */
export async function withTeam<T>(size: number, body: (team: Team) => Promise<T>): Promise<T> {
  const team = new Team(size);
  try {
    return await body(team);
  } finally {
    await team.close();
  }
}
