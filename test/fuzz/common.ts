/**
 * common — what both fuzzers (checked.ts: checked mode with bad operations, in one thread;
 * default_mode.ts: default mode over worker threads) share: the generator, the size mix, the
 * schedule of the full checks, the ring of recent operations, the failure type, the bad pointer
 * values, the summary the command lines print.
 *
 * Invariants: nothing here reads a heap's internals; sizes and limits come from the package's
 * public exports (SIZE_CLASSES, MID_MAX).
 */

import { MID_MAX, SIZE_CLASSES } from "../../src/index.js";

/** A failure the fuzz found (the rest are bugs in the fuzz itself, reported as "unexpected"). */
export class FuzzFailure extends Error {}

export function fail(message: string): never {
  throw new FuzzFailure(message);
}

export function hex(p: number): string {
  return `0x${(p >>> 0).toString(16)}`;
}

/** xorshift32, warmed up: floats in [0, 1). */
export function rng(seed: number): () => number {
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

/** A seed for one part of a run (a worker, an epoch), mixed from the run's seed and the part's numbers. */
export function seedFor(seed: number, ...parts: number[]): number {
  let h = Math.imul(seed ^ 0x2545f491, 0x9e3779b1);
  for (const p of parts) {
    h = Math.imul(h ^ (p | 0), 0x85ebca6b);
    h ^= h >>> 13;
  }
  return h | 0;
}

/**
 * A request size: 55 % up to 1 KiB and 30 % from 1 KiB to 256 KiB (both log-uniform), 12 % at a
 * size-class boundary (less the checked-mode overhead when `overhead` is given), 3 % large
 * blocks up to 2 MiB past MID_MAX.
 */
export function randomSize(rand: () => number, overhead = 0): number {
  const u = rand();
  if (u < 0.55) return Math.floor(2 ** (rand() * 10)) - 1 + Math.floor(rand() * 2);
  if (u < 0.85) return Math.floor(2 ** (10 + rand() * 8));
  if (u < 0.97) return Math.max(0, SIZE_CLASSES[Math.floor(rand() * SIZE_CLASSES.length)]! - overhead + Math.floor(rand() * 2));
  return MID_MAX + 1 + Math.floor(rand() * (2 << 20));
}

/**
 * When the next full check runs. Fixed: every `every` operations. Auto (`every` = 0): every
 * max(AUTO_MIN, mapped heap bytes / AUTO_BYTES_PER_OP) operations, the mapped size read at each
 * check. A full check costs time in proportion to the heap (check() and walk() visit every page,
 * the sweep reads every live block), so a fixed interval would make a run with a big heap spend
 * nearly all its time checking (the fuzz at every 200 ops: 17 k ops/s); one operation of interval
 * per 32 KiB mapped keeps the checks at 10–20 % of a run (measured in both modes, 10^7 ops: a
 * check of a 20–100 MiB heap took 5–10 ms, an operation 5–10 µs) and the cost of a run linear in
 * its operations whatever the heap. The interval depends on the heap alone, never on the clock,
 * so a run replays exactly.
 */
export class CheckSchedule {
  static readonly AUTO_MIN = 200;
  static readonly AUTO_BYTES_PER_OP = 32 << 10;
  /** Operations between the last check and the next. */
  interval: number;
  private next: number;
  /** Checks run, and their time in all (ms). */
  checks = 0;
  checkMs = 0;
  private smallest = Infinity;
  private largest = 0;

  constructor(private readonly every: number) {
    this.interval = every > 0 ? every : CheckSchedule.AUTO_MIN;
    this.next = this.interval;
  }

  /** True when a check is due after `ops` operations. */
  due(ops: number): boolean {
    return ops >= this.next;
  }

  /**
   * Records a check that ran after `ops` operations from `start` (performance.now()) to now, on a
   * heap of `mappedBytes`, and sets the next.
   */
  done(ops: number, start: number, mappedBytes: number): void {
    this.checks++;
    this.checkMs += performance.now() - start;
    if (this.every === 0) this.interval = Math.max(CheckSchedule.AUTO_MIN, Math.round(mappedBytes / CheckSchedule.AUTO_BYTES_PER_OP));
    this.smallest = Math.min(this.smallest, this.interval);
    this.largest = Math.max(this.largest, this.interval);
    this.next = ops + this.interval;
  }

  /** "every 200 ops" or "every 200–6,144 ops (auto)". */
  describe(): string {
    if (this.every > 0) return `every ${this.every} ops`;
    const lo = Math.min(this.smallest, this.interval);
    const hi = Math.max(this.largest, this.interval);
    const f = (n: number) => n.toLocaleString("en-US");
    return `every ${lo === hi ? f(lo) : `${f(lo)}–${f(hi)}`} ops (auto: one per ${CheckSchedule.AUTO_BYTES_PER_OP >> 10} KiB mapped)`;
  }
}

/**
 * The last operations, for a failure report: a ring of (what, pointer, size, extra) that costs no
 * string building per operation (`what` is a constant string).
 */
export class Recent {
  private readonly what: string[];
  private readonly nums: Float64Array;
  private at = 0;
  private count = 0;

  constructor(private readonly size = 32) {
    this.what = new Array<string>(size).fill("");
    this.nums = new Float64Array(size * 4);
  }

  add(what: string, op: number, ptr = 0, n = -1): void {
    const i = this.at;
    this.what[i] = what;
    this.nums[i * 4] = op;
    this.nums[i * 4 + 1] = ptr;
    this.nums[i * 4 + 2] = n;
    this.at = (i + 1) % this.size;
    if (this.count < this.size) this.count++;
  }

  /** Oldest first: "op 1234: free 0x1a2b0 (n 40)". */
  lines(): string[] {
    const out: string[] = [];
    for (let k = 0; k < this.count; k++) {
      const i = (this.at - this.count + k + this.size) % this.size;
      const [op, ptr, n] = [this.nums[i * 4]!, this.nums[i * 4 + 1]!, this.nums[i * 4 + 2]!];
      out.push(`op ${op}: ${this.what[i]}${ptr !== 0 ? ` ${hex(ptr)}` : ""}${n >= 0 ? ` (n ${n})` : ""}`);
    }
    return out;
  }
}

/**
 * Calls `f`, which must throw one of `types` with a message naming `ptr` (in hex) when given.
 * Returns the error; fails naming what happened otherwise.
 */
export function expectError(what: string, ptr: number | undefined, types: readonly (new (...args: never[]) => Error)[], f: () => unknown): Error {
  let err: unknown;
  try {
    f();
  } catch (e) {
    err = e;
  }
  const expected = types.map((t) => t.name).join(" or ");
  if (err === undefined) fail(`${what}: did not throw (expected ${expected})`);
  if (!types.some((t) => err instanceof t)) fail(`${what}: threw ${(err as Error)?.name}: ${(err as Error)?.message}; expected ${expected}`);
  if (ptr !== undefined && !(err as Error).message.includes(hex(ptr))) fail(`${what}: the message does not name ${hex(ptr)}: ${(err as Error).message}`);
  return err as Error;
}

/** Values of the wrong type or range for a pointer, and the error free() must throw for each. */
export const BAD_POINTERS: ReadonlyArray<readonly [unknown, new (...args: never[]) => Error]> = [
  [-8, RangeError], [2 ** 32, RangeError], [1.5, RangeError], ["16", TypeError], [undefined, TypeError], [NaN, RangeError],
];

/** What a fuzz run reports, in either mode. */
export interface FuzzSummary {
  mode: "checked" | "default";
  ok: boolean;
  seed: number;
  /** Operations run (the count a replay's --ops takes). */
  ops: number;
  /** Thread heaps (checked mode: in one thread) or worker threads (default mode) at a time. */
  workers: number;
  /** Workers terminated mid-run and reclaimed. */
  terminations: number;
  checks: number;
  /** Time in the full checks, and in all (ms). */
  checkMs: number;
  ms: number;
  /** The failure, with the recent operations (empty when ok). */
  failure: string;
  /** The command that repeats the run up to the failure (empty when ok). */
  replay: string;
  /** Operations by kind (bad ones start with "bad:"). */
  counts: Record<string, number>;
  /** Figures of the run (peaks, blocks repaired or lost, pages reclaimed...), by name. */
  figures: Record<string, number>;
  /** Lines a person reads: the configuration, counts by kind, figures. */
  details: string[];
}

/** The summary, as printed: a headline, the details, and on failure the failure and the replay line. */
export function formatSummary(s: FuzzSummary): string {
  const rate = s.ms > 0 ? Math.round(s.ops / (s.ms / 1000)) : 0;
  const lines = [
    `hakmem fuzz: ${s.ok ? "OK" : "FAILED"}: ${s.ops} ops, seed ${s.seed}, ${s.mode} mode, ${s.workers} worker${s.workers === 1 ? "" : "s"}, ` +
      `${s.terminations} termination${s.terminations === 1 ? "" : "s"}, ${(s.ms / 1000).toFixed(1)} s (${rate.toLocaleString("en-US")} ops/s, ` +
      `${s.checks} checks taking ${s.ms > 0 ? Math.round((100 * s.checkMs) / s.ms) : 0} %)`,
    ...s.details.map((l) => `  ${l}`),
  ];
  if (!s.ok) lines.push(s.failure, `replay: ${s.replay}`);
  return lines.join("\n");
}

/** Two lines from counts by kind: "good: free 10, malloc 12" and "bad:  interior 3, type 1" (sorted by name). */
export function formatCounts(counts: Record<string, number>): string[] {
  const line = (keys: string[], strip: number) => keys.sort().map((k) => `${k.slice(strip)} ${counts[k]}`).join(", ") || "none";
  const keys = Object.keys(counts);
  return [`good: ${line(keys.filter((k) => !k.startsWith("bad:")), 0)}`, `bad:  ${line(keys.filter((k) => k.startsWith("bad:")), 4)}`];
}
