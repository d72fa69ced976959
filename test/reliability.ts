/**
 * reliability — the long run, in one command: the soak and both fuzz modes, for M minutes in all.
 *
 *   npm run reliability -- --minutes 60 --seed 11
 *
 * Parts, in order, with their shares of the time: the multi-worker soak (test/soak.ts, 4 workers
 * per round, half disposed and half terminated and reclaimed each round) 20 %; the checked-mode
 * fuzz (two thread heaps, bad operations) 30 %; the default-mode fuzz with 1, 2 and 4 worker
 * threads (cross-worker frees, terminations and reclaim) 15 %, 15 % and 20 %. Each part prints one
 * summary line (operations, workers, terminations, seed, time, ops/s); a failed part prints its
 * failure and the command that replays it, the run goes on with the other parts, and the command
 * exits 1 at the end. Exits 0 when every part passed, 2 on a bad command line.
 *
 * A fuzz replay repeats the same operations (test/fuzz/); a soak replay repeats the same seeds and
 * duration, not the interleaving of its workers (its rounds run on the clock).
 *
 * Not a test file: it does nothing when the test runner loads it.
 */

import { readCommandLine } from "./command_line.js";
import { parseArgs } from "node:util";
import { runCheckedFuzz } from "./fuzz/checked.js";
import { type FuzzSummary } from "./fuzz/common.js";
import { runDefaultFuzz } from "./fuzz/default_mode.js";
import { runStress } from "./workers/stress.js";

export const USAGE = `usage: node build/test/reliability.js [options]        (or: npm run reliability -- [options])
  --minutes M    how long to run in all, in minutes (default 5): the soak 20 %, the checked-mode fuzz
                 30 %, the default-mode fuzz with 1, 2 and 4 worker threads 15 %, 15 % and 20 %
  --seed S       seed of every part (default: from the clock, printed first)
  --inject-fault OP  damage a live block at op OP of each fuzz part (tests this command itself)
  --quiet        no progress lines (only the summary line of each part)
  --help         this text`;

/** What a part of the run reports: its summary line and, on failure, the failure and its replay command. */
interface PartResult {
  name: string;
  ok: boolean;
  line: string;
  failure: string;
  replay: string;
}

const SOAK_WORKERS = 4;

function rate(ops: number, ms: number): string {
  return `${Math.round(ops / Math.max(ms / 1000, 1e-3)).toLocaleString("en-US")} ops/s`;
}

async function soak(seconds: number, seed: number, log?: (line: string) => void): Promise<PartResult> {
  // Rounds of 3 s (as `npm run soak`), shorter only for runs of less than 12 s.
  const roundSeconds = Math.min(3, Math.max(1, Math.round(seconds / 4)));
  const replay = `npm run soak -- --seconds ${Math.ceil(seconds)} --workers ${SOAK_WORKERS} --seed ${seed} --round-seconds ${roundSeconds}`;
  const t0 = performance.now();
  try {
    const s = await runStress({
      seconds, roundSeconds, workers: SOAK_WORKERS, seed, retain: 256, transferSlots: 1024, maxBytes: 1024 << 20,
      roundTimeoutMs: Math.max(60_000, roundSeconds * 10_000), log,
    });
    const workers = s.rounds.reduce((n, r) => n + r.workers.length, 0);
    const terminations = s.rounds.reduce((n, r) => n + r.workers.filter((w) => w.ending === "terminate").length, 0);
    return {
      name: "soak",
      ok: true,
      line: `${s.totals.ops.toLocaleString("en-US")} ops, ${workers} workers (${SOAK_WORKERS} at a time, ${s.rounds.length} round${s.rounds.length === 1 ? "" : "s"}), ${terminations} terminations, ` +
        `seed ${seed}, ${(s.ms / 1000).toFixed(1)} s (${rate(s.totals.ops, s.ms)}); ${s.totals.crossFrees.toLocaleString("en-US")} cross-worker frees; heap empty at the end`,
      failure: "",
      replay: "",
    };
  } catch (e) {
    return {
      name: "soak", ok: false, line: `seed ${seed}, after ${((performance.now() - t0) / 1000).toFixed(1)} s`,
      failure: `${(e as Error).stack ?? e}`, replay,
    };
  }
}

function fromFuzz(name: string, s: FuzzSummary, workers: string): PartResult {
  return {
    name,
    ok: s.ok,
    line: `${s.ops.toLocaleString("en-US")} ops, ${workers}, ${s.terminations} terminations, seed ${s.seed}, ${(s.ms / 1000).toFixed(1)} s (${rate(s.ops, s.ms)}; ` +
      `${s.checks} full checks, ${s.ms > 0 ? Math.round((100 * s.checkMs) / s.ms) : 0} % of the time)`,
    failure: s.failure,
    replay: s.replay,
  };
}

/** Runs every part for its share of `minutes`; returns the parts' results. */
export async function runReliability(
  minutes: number, seed: number, injectFault: number | undefined, print: (line: string) => void, progress?: (line: string) => void,
): Promise<PartResult[]> {
  const total = minutes * 60;
  const results: PartResult[] = [];
  const report = (r: PartResult) => {
    results.push(r);
    print(`reliability: ${r.name.padEnd(18)} ${r.ok ? "PASS" : "FAIL"}  ${r.line}`);
    if (!r.ok) print(`${r.failure}\nreplay: ${r.replay}`);
  };
  const tagged = (name: string) => (progress === undefined ? undefined : (line: string) => progress(`[${name}] ${line.trim()}`));
  report(await soak(0.2 * total, seed, tagged("soak")));
  report(fromFuzz("fuzz checked", runCheckedFuzz({ ops: Infinity, seconds: 0.3 * total, seed, workers: 2, injectFault, log: tagged("fuzz checked") }), "2 thread heaps in one thread"));
  for (const [workers, share] of [[1, 0.15], [2, 0.15], [4, 0.2]] as const) {
    const name = `fuzz default ×${workers}`;
    const s = await runDefaultFuzz({ ops: Infinity, seconds: share * total, seed, workers, injectFault, log: tagged(name) });
    report(fromFuzz(name, s, `${workers} worker thread${workers === 1 ? "" : "s"} (+${s.terminations} started in place of terminated ones)`));
  }
  return results;
}

function readOptions(argv: string[]): { minutes: number; seed: number | undefined; injectFault: number | undefined; quiet: boolean } | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      minutes: { type: "string", default: "5" },
      seed: { type: "string" },
      "inject-fault": { type: "string" },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  const minutes = Number(values.minutes);
  if (!(Number.isFinite(minutes) && minutes > 0)) throw new Error(`--minutes takes a positive number, got ${JSON.stringify(values.minutes)}`);
  let seed: number | undefined;
  if (values.seed !== undefined) {
    seed = Number(values.seed);
    if (!Number.isSafeInteger(seed)) throw new Error(`--seed takes an integer, got ${JSON.stringify(values.seed)}`);
  }
  let injectFault: number | undefined;
  if (values["inject-fault"] !== undefined) {
    injectFault = Number(values["inject-fault"]);
    if (!(Number.isSafeInteger(injectFault) && injectFault >= 0)) throw new Error(`--inject-fault takes a non-negative integer, got ${JSON.stringify(values["inject-fault"])}`);
  }
  return { minutes, seed, injectFault, quiet: values.quiet };
}

async function main(): Promise<number> {
  const o = readCommandLine("reliability", USAGE, readOptions);
  if (typeof o === "number") return o;
  const seed = o.seed ?? Date.now() % 1_000_000_007;
  console.log(`reliability: ${o.minutes} minutes, seed ${seed}`);
  const t0 = performance.now();
  const results = await runReliability(o.minutes, seed, o.injectFault, (line) => console.log(line), o.quiet ? undefined : (line) => console.log(`  ${line}`));
  const failed = results.filter((r) => !r.ok);
  const took = `${((performance.now() - t0) / 60_000).toFixed(1)} minutes`;
  if (failed.length === 0) {
    console.log(`reliability: PASS (${results.length} parts, ${took})`);
    return 0;
  }
  console.log(`reliability: FAIL (${failed.map((r) => r.name).join(", ")}; ${took}); replay:\n${failed.map((r) => `  ${r.replay}`).join("\n")}`);
  return 1;
}

if (process.env.NODE_TEST_CONTEXT === undefined) {
  process.exitCode = await main();
}
