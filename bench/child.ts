/**
 * child — runs one (peer, workload) pair in a process of its own and prints one result line.
 *
 *   node --expose-gc build/bench/child.js --peer NAME --workload NAME [--runs R] [--warmup K] [--quick] [--cold]
 *
 * Method (steady state): ONE allocator instance (`Peer.create()`) per process, and on it:
 * 1. PRIME_CALLS runs of one iteration (V8 then records type feedback for the whole run function);
 * 2. K warm-up runs (default 2), each the very run that is then timed (same parameters, same
 *    draws): V8 optimizes the loop and the allocator's code, and the instance serves exactly the
 *    sequence of calls to come — the first warm-up on a fresh instance (growth, new pages), the
 *    second on a warm one (reuse), as the timed run — so it has met every path and touched every
 *    byte of memory the timed run needs;
 * 3. one run of one iteration and a pause of SETTLE_MS (V8 finishes compiling the run function);
 * 4. the R timed runs.
 * So no peer pays a new buffer's first touches (page faults, growth, carving fresh pages) inside
 * the clock, as a program that keeps its heap does not, and the timed run neither compiles nor
 * deoptimizes its loop (checked with --trace-opt --trace-deopt). Each run frees every block it
 * allocated (outside the clock), so every run starts from an instance holding nothing; what the
 * instance keeps (mapped memory, caches, free lists) is what a steady state keeps. The clock
 * covers the workload's loop only (workloads/types.ts).
 * --cold: the former method, kept to show the cost of a fresh instance: the warm-up runs use an
 * instance of their own, and each timed run a fresh one (warm code, cold allocator). Reports
 * label such runs "cold".
 * Only one allocator class ever flows through the workload's loop in this process, so its call
 * sites stay monomorphic: this is why every pair gets its own process.
 * Native peers (peers/native.ts) run their C program from here, with the same method (run.ts
 * starts it directly, without this process).
 * Multi-worker workloads (workloads/multi.ts) start their workers in this process; a warm-up run
 * here would warm nothing (every worker is a new isolate), so instead each worker warms its own
 * loop up before the clock starts, and --warmup and --cold do not apply. A peer that does not
 * take part in a multi-worker workload gives a "skipped" result for that pair only.
 *
 * Output: one line `@@BENCH-RESULT {json}` (lib/model.ts ChildResult) on stdout, whose status
 * says ok, skipped (the peer cannot run here) or error (message and stack).
 */

import { intOption, parseCommandLine } from "./lib/args.js";
import { RESULT_PREFIX, type ChildResult, type RunRecord } from "./lib/model.js";
import { TMP_DIR } from "./lib/env.js";
import { importPeer, peerEntry, type PeerEntry } from "./peers/index.js";
import { PeerSkipped, infoOf, type Peer } from "./peers/types.js";
import { workload as findWorkload } from "./workloads/index.js";
import {
  multiSkipReason, param, withParam, type MultiWorkerWorkload, type Params, type RunOutcome, type SingleWorkload,
} from "./workloads/types.js";

const USAGE = `usage: node --expose-gc build/bench/child.js --peer NAME --workload NAME [options]
  --peer NAME       the peer (bench/peers/index.ts)
  --workload NAME   the workload (bench/workloads/index.ts)
  --runs R          timed runs (default 1)
  --warmup K        warm-up runs (the same run) before them, on the same instance (default 2)
  --quick           the workload's quick parameters
  --cold            time each run on a fresh instance (warm-up on another one)
  --help            this text
Prints one line: @@BENCH-RESULT {json}.
`;

interface ChildArgs {
  peer: string;
  workload: string;
  runs: number;
  warmup: number;
  quick: boolean;
  cold: boolean;
}

function parseChildArgs(argv: string[]): ChildArgs {
  const values = parseCommandLine(
    argv,
    {
      peer: { type: "string" },
      workload: { type: "string" },
      runs: { type: "string" },
      warmup: { type: "string" },
      quick: { type: "boolean" },
      cold: { type: "boolean" },
    },
    USAGE,
  );
  if (values.peer === undefined || values.workload === undefined) throw new Error(`--peer and --workload are required\n${USAGE}`);
  return {
    peer: values.peer,
    workload: values.workload,
    runs: intOption("runs", values.runs, 1, 1),
    warmup: intOption("warmup", values.warmup, 0, 2),
    quick: values.quick === true,
    cold: values.cold === true,
  };
}

const collectGarbage = (globalThis as { gc?: () => void }).gc;

/**
 * One-iteration runs before the warm-up. V8 gives a function its feedback vector only after
 * several calls (8 in V8 11): without them the first warm-up run recorded no type feedback for
 * the code around its loop, and the timed run deoptimized at its start and again and again
 * after its loop (--trace-deopt).
 */
const PRIME_CALLS = 10;
/**
 * V8 marks the run function for optimization at the end of a warm-up run and compiles it at its
 * next call, in the background: a one-iteration run makes that call, and this pause lets the
 * compiler finish before the clock (else it competed with the timed run for the 2 cores).
 */
const SETTLE_MS = 100;

/** The steady-state method (see the header), or --cold. */
async function runSingle(peer: Peer, w: SingleWorkload, params: Params, args: ChildArgs): Promise<RunRecord[]> {
  const create = peer.create;
  if (create === undefined) throw new Error(`${peer.name} has no in-process instances`);
  const instance = create();
  const tiny = withParam(params, w.iterationParam, 1);
  for (let k = 0; k < PRIME_CALLS; k++) w.run(instance, tiny);
  for (let k = 0; k < args.warmup; k++) w.run(instance, params);
  w.run(instance, tiny);
  await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  const runs: RunRecord[] = [];
  for (let r = 0; r < args.runs; r++) {
    // No gc() before the run: the timed run after a forced full GC came out 10–40 % slower, for a
    // second and more (measured on hakmem and the reference); the loops allocate no JS objects,
    // but for the gc peer's, whose collections are what it costs.
    const a = args.cold ? create() : instance;
    const out = w.run(a, params);
    if (a !== instance) a.dispose();
    runs.push(record(out, NaN));
  }
  instance.dispose();
  return runs;
}

/**
 * One run's record: the workload's outcome and the footprint (NaN: not measured). Single-worker
 * runs measure none: their instance carries the warm-up runs' high-water marks; the footprint
 * runs (footprint.ts) measure the peak of one run on a fresh instance.
 */
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
  const args = parseChildArgs(process.argv.slice(2));
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
    const reason = multiSkipReason(w, peer);
    if (reason !== null) return { status: "skipped", scope: "pair", ...base, reason };
  }
  let params = args.quick ? w.quickParams : w.params;
  const cap = peer.iterationCap?.(w.name, args.quick);
  let shortened = false;
  if (cap !== undefined && cap < param(params, w.iterationParam)) {
    params = withParam(params, w.iterationParam, cap);
    shortened = true;
  }
  let runs: RunRecord[];
  if (w.kind === "multi") runs = await runMulti(peer, entry, w, params, args);
  else if (peer.external !== undefined) {
    runs = await peer.external.run(w, params, args.cold ? 0 : args.warmup, args.runs);
  } else runs = await runSingle(peer, w, params, args);
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
  const at = (flag: string): string => (argv.includes(flag) ? (argv[argv.indexOf(flag) + 1] ?? "?") : "?");
  result = { status: "error", peer: at("--peer"), workload: at("--workload"), error: message };
}
process.stdout.write(`${RESULT_PREFIX}${JSON.stringify(result)}\n`);
