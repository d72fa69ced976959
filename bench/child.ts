/**
 * child — runs one (peer, workload) pair in a process of its own and prints one result line.
 *
 *   node --expose-gc build/bench/child.js --peer NAME --workload NAME [--runs R] [--warmup K] [--quick]
 *
 * Measures: after K warm-up runs at a quarter of the workload's length (so that V8 has optimized
 * the loop and the allocator's code), R timed runs of the workload, each on a fresh allocator
 * instance (`Peer.create()`; the clock covers the workload's loop only, see workloads/types.ts).
 * With --expose-gc the JS heap is collected before each timed run, outside the clock.
 * Only one allocator class ever flows through the workload's loop in this process, so its call
 * sites stay monomorphic: this is why every pair gets its own process.
 * Multi-worker workloads (workloads/multi.ts) start their workers in this process; a warm-up run
 * here would warm nothing (every worker is a new isolate), so instead each worker warms its own
 * loop up before the clock starts, and --warmup does not apply. A peer that does not take part
 * in a multi-worker workload gives a "skipped" result for that pair only.
 *
 * Output: one line `@@BENCH-RESULT {json}` (lib/model.ts ChildResult) on stdout, whose status
 * says ok, skipped (the peer cannot run here) or error (message and stack).
 */

import { RESULT_PREFIX, type ChildResult, type RunRecord } from "./lib/model.js";
import { TMP_DIR } from "./lib/env.js";
import { importPeer, peerEntry, type PeerEntry } from "./peers/index.js";
import { PeerSkipped, infoOf, type Peer } from "./peers/types.js";
import { workload as findWorkload } from "./workloads/index.js";
import { multiSkipReason, param, withParam, type MultiWorkerWorkload, type Params, type RunOutcome, type SingleWorkload } from "./workloads/types.js";

interface ChildArgs {
  peer: string;
  workload: string;
  runs: number;
  warmup: number;
  quick: boolean;
}

function parseArgs(argv: readonly string[]): ChildArgs {
  const args: ChildArgs = { peer: "", workload: "", runs: 5, warmup: 1, quick: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--peer") args.peer = value();
    else if (a === "--workload") args.workload = value();
    else if (a === "--runs") args.runs = Number(value());
    else if (a === "--warmup") args.warmup = Number(value());
    else if (a === "--quick") args.quick = true;
    else throw new Error(`unknown argument ${a}`);
  }
  if (args.peer === "" || args.workload === "") throw new Error("--peer and --workload are required");
  if (!(Number.isInteger(args.runs) && args.runs >= 1)) throw new Error("--runs must be a positive integer");
  if (!(Number.isInteger(args.warmup) && args.warmup >= 0)) throw new Error("--warmup must be a non-negative integer");
  return args;
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

function runSingle(peer: Peer, w: SingleWorkload, params: Params, args: ChildArgs): RunRecord[] {
  const n = param(params, w.iterationParam);
  const warmParams = withParam(params, w.iterationParam, Math.max(1, Math.floor(n / 4)));
  for (let k = 0; k < args.warmup; k++) {
    const a = peer.create();
    w.run(a, warmParams);
    a.dispose();
  }
  const runs: RunRecord[] = [];
  for (let r = 0; r < args.runs; r++) {
    collectGarbage?.();
    const a = peer.create();
    const out = w.run(a, params);
    const footprint = a.peakFootprint();
    a.dispose();
    runs.push(record(out, footprint));
  }
  return runs;
}

/** One run's record: the workload's outcome and the footprint (NaN: not measurable). */
function record(out: RunOutcome, footprint: number): RunRecord {
  return {
    iterations: out.iterations,
    seconds: out.seconds,
    checksum: out.checksum,
    peakFootprintBytes: Number.isFinite(footprint) ? footprint : null,
    peakLiveBytes: out.peakLiveBytes ?? null,
  };
}

async function runMulti(peer: Peer, entry: PeerEntry, w: MultiWorkerWorkload, params: Params, args: ChildArgs): Promise<RunRecord[]> {
  const runs: RunRecord[] = [];
  for (let r = 0; r < args.runs; r++) {
    collectGarbage?.();
    const out = await w.run(peer, entry, params);
    runs.push(record(out, out.peakFootprintBytes ?? NaN));
  }
  return runs;
}

async function main(): Promise<ChildResult> {
  const args = parseArgs(process.argv.slice(2));
  const entry = peerEntry(args.peer);
  const w = findWorkload(args.workload);
  const base = { peer: args.peer, workload: args.workload };
  let peer: Peer;
  try {
    peer = await (await importPeer(entry)).load(entry.variant, TMP_DIR);
  } catch (err) {
    if (err instanceof PeerSkipped) return { status: "skipped", ...base, reason: err.message };
    throw err;
  }
  if (w.kind === "multi") {
    const reason = multiSkipReason(w, peer.multi);
    if (reason !== null) return { status: "skipped", scope: "pair", ...base, reason };
  }
  let params = args.quick ? w.quickParams : w.params;
  const cap = peer.iterationCap?.(w.name, args.quick);
  let shortened = false;
  if (cap !== undefined && cap < param(params, w.iterationParam)) {
    params = withParam(params, w.iterationParam, cap);
    shortened = true;
  }
  const runs = w.kind === "single" ? runSingle(peer, w, params, args) : await runMulti(peer, entry, w, params, args);
  return {
    status: "ok",
    peer: infoOf(peer),
    workload: w.name,
    params,
    describe: w.describe(params),
    shortened,
    warmupRuns: w.kind === "single" ? args.warmup : 0,
    runs,
  };
}

let result: ChildResult;
try {
  result = await main();
} catch (err) {
  const message = err instanceof Error ? (err.stack ?? err.message) : String(err);
  const argv = process.argv.slice(2);
  const at = (flag: string): string => argv[argv.indexOf(flag) + 1] ?? "?";
  result = { status: "error", peer: at("--peer"), workload: at("--workload"), error: message };
}
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
