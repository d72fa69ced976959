/**
 * run — the benchmark suite: every selected workload × peer, each pair in child processes of its
 * own, interleaved, reported as Markdown, JSON and SVG.
 *
 *   npm run bench                        (= npm run build:dev && node build/bench/run.js)
 *   node build/bench/run.js [--quick] [--runs R] [--warmup K] [--workloads a,b] [--peers a,b] [--checked]
 *
 * Method (what the numbers mean):
 * - Each timed run happens in a fresh `node --expose-gc build/bench/child.js` process that runs one
 *   (peer, workload) pair: K warm-up runs at 1/4 length, then one timed run on a fresh allocator
 *   instance (see child.ts). One allocator class per process keeps the loops monomorphic.
 * - Repetitions are interleaved: for r in 1..R, for each workload, every peer once, the peer order
 *   rotated by one each repetition. Children run one at a time. A machine that drifts (thermal,
 *   neighbours) thus hurts all peers alike; figures are the median and min–max over the R runs.
 * - --quick: the workloads' quick parameters (a quarter of the iterations), R = 3, and the slow
 *   peers shortened harder; about two minutes on 2 cores with the multi-worker workloads. Shortened runs are marked as such.
 * - Ratios are hakmem's median over the peer's median, taken within this one run only.
 * - Multi-worker workloads (larson_t1/t2/t4, mid_large_mt, xthread, xthread_local) are scheduled the
 *   same way, one child per (peer, workload, repetition); the child starts the workers. A peer
 *   that cannot take part in one (workloads/types.ts multiSkipReason) is not scheduled for it, and
 *   the output says why. They get a table of their own in the Markdown.
 * Output: bench/results/latest.md, latest.json, latest.svg (the Markdown also on stdout); progress
 * on stderr. The full suite also runs the rows of C compiled to wasm (bench/wasm/suite.ts; data in
 * bench/results/wasm.json).
 */

import { spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RESULTS_DIR, TMP_DIR, buildDigest, commitId, machine } from "./lib/env.js";
import { RESULT_PREFIX, type Cell, type ChildResult, type Meta, type Report, type RunRecord } from "./lib/model.js";
import { errorLine, summarize } from "./lib/stats.js";
import { PEERS, importPeer, peerEntry, type PeerEntry } from "./peers/index.js";
import { PeerSkipped, infoOf, type PeerInfo } from "./peers/types.js";
import { renderMarkdown } from "./report/markdown.js";
import { renderSvg } from "./report/svg.js";
import { WORKLOADS, workload as findWorkload } from "./workloads/index.js";
import { runWasmSuite } from "./wasm/suite.js";
import { multiSkipReason, type Workload } from "./workloads/types.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "child.js");
/** A child that runs longer than this is killed and its pair reported as an error. */
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

interface Options {
  quick: boolean;
  runs: number;
  warmup: number;
  workloads: Workload[];
  peers: PeerEntry[];
  checked: boolean;
}

const USAGE = `usage: node build/bench/run.js [options]
  --quick            short workloads, 3 runs, slow peers shortened harder (about two minutes)
  --runs R           timed runs per (workload, peer), each in its own process (default 5; quick 3)
  --warmup K         warm-up runs per process, at 1/4 length (default 2)
  --workloads a,b    workloads to run (default all): ${WORKLOADS.map((w) => w.name).join(", ")}
  --peers a,b        peers to run (default all but opt-in ones): ${PEERS.map((p) => p.name).join(", ")}
  --checked          also run hakmem-checked (skipped with a note if createHeap rejects { check: true })
`;

function parseOptions(argv: readonly string[]): Options {
  let quick = false;
  let runs: number | undefined;
  let warmup = 2;
  let workloadNames: string[] | undefined;
  let peerNames: string[] | undefined;
  let checked = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value\n${USAGE}`);
      return v;
    };
    const list = (): string[] =>
      value()
        .split(",")
        .map((x) => x.trim())
        .filter((x) => x !== "");
    if (a === "--quick") quick = true;
    else if (a === "--runs") runs = Number(value());
    else if (a === "--warmup") warmup = Number(value());
    else if (a === "--workloads") workloadNames = list();
    else if (a === "--peers") peerNames = list();
    else if (a === "--checked") checked = true;
    else if (a === "--help" || a === "-h") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else throw new Error(`unknown option ${a}\n${USAGE}`);
  }
  runs ??= quick ? 3 : 5;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error("--runs must be a positive integer");
  if (!(Number.isInteger(warmup) && warmup >= 0)) throw new Error("--warmup must be a non-negative integer");
  const workloads = workloadNames === undefined ? [...WORKLOADS] : workloadNames.map(findWorkload);
  const peers =
    peerNames === undefined
      ? PEERS.filter((p) => p.optIn === undefined || (p.optIn === "--checked" && checked))
      : peerNames.map(peerEntry);
  return { quick, runs, warmup, workloads, peers, checked };
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

let progressShown = false;
function progress(line: string): void {
  if (process.stderr.isTTY) {
    process.stderr.write(`\r\x1b[K${line}`);
    progressShown = true;
  } else {
    process.stderr.write(`${line}\n`);
  }
}
function endProgress(): void {
  if (progressShown) process.stderr.write("\n");
  progressShown = false;
}

/** Prepares and probes each peer in this process; returns the runnable ones and the skips. */
async function preparePeers(entries: readonly PeerEntry[]): Promise<{ ok: { entry: PeerEntry; info: PeerInfo }[]; skipped: Map<string, string[]> }> {
  const ok: { entry: PeerEntry; info: PeerInfo }[] = [];
  const skipped = new Map<string, string[]>();
  const skip = (name: string, reason: string): void => {
    const names = skipped.get(reason) ?? [];
    names.push(name);
    skipped.set(reason, names);
  };
  await mkdir(TMP_DIR, { recursive: true });
  for (const entry of entries) {
    try {
      const mod = await importPeer(entry);
      await mod.prepare?.(entry.variant, TMP_DIR);
      const peer = await mod.load(entry.variant, TMP_DIR);
      ok.push({ entry, info: { ...infoOf(peer), name: entry.name } });
    } catch (err) {
      if (err instanceof PeerSkipped) skip(entry.name, err.message);
      else skip(entry.name, `not run: failed to load: ${errorLine(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    }
  }
  return { ok, skipped };
}

interface Job {
  peer: PeerEntry;
  workload: Workload;
  rep: number;
}

/** Runs one child; resolves with its result (errors included, never rejects). */
function runChild(job: Job, opts: Options): Promise<ChildResult> {
  const args = [
    "--expose-gc",
    CHILD,
    "--peer",
    job.peer.name,
    "--workload",
    job.workload.name,
    "--runs",
    "1",
    "--warmup",
    String(opts.warmup),
    ...(opts.quick ? ["--quick"] : []),
  ];
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), CHILD_TIMEOUT_MS);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split("\n").find((l) => l.startsWith(RESULT_PREFIX));
      if (line !== undefined) {
        resolve(JSON.parse(line.slice(RESULT_PREFIX.length)) as ChildResult);
        return;
      }
      const why = signal !== null ? `killed by ${signal}${signal === "SIGKILL" ? " (timeout?)" : ""}` : `exit code ${code}`;
      resolve({
        status: "error",
        peer: job.peer.name,
        workload: job.workload.name,
        error: `child process ${why}: ${(stderr.trim() || stdout.trim()).split("\n").slice(-5).join(" / ")}`,
      });
    });
  });
}

function fmtDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

async function main(): Promise<void> {
  const opts = parseOptions(process.argv.slice(2));
  const mach = machine();
  const loadsSrc = opts.peers.some((p) => p.module === "./hakmem.js");
  const meta: Meta = {
    commit: commitId(),
    build: buildDigest(loadsSrc),
    node: mach.node,
    v8: mach.v8,
    cpu: mach.cpu,
    cores: mach.cores,
    platform: mach.platform,
    load: mach.load,
    date: new Date().toISOString(),
    quick: opts.quick,
    runs: opts.runs,
    warmup: opts.warmup,
    command: ["node build/bench/run.js", ...process.argv.slice(2)].join(" "),
  };
  log(`hakmem bench · commit ${meta.commit} (build ${meta.build}) · Node ${meta.node} · ${meta.cpu} · ${meta.cores} cores · load ${meta.load}`);
  log(
    `options: ${opts.quick ? "quick, " : ""}runs=${opts.runs}, warmup=${opts.warmup}, workloads=${opts.workloads.map((w) => w.name).join(",")}, ` +
      `peers=${opts.peers.map((p) => p.name).join(",")}`,
  );

  const { ok, skipped } = await preparePeers(opts.peers);
  for (const [reason, names] of skipped) log(`${names.join(", ")}: ${reason}`);
  if (ok.length === 0) throw new Error("no peer can run");

  // Multi-worker workloads run only the peers that can take part; the others are noted once.
  const pairSkips = new Map<string, { peer: string; workloads: string[] }>(); // reason+peer -> workloads
  const takesPart = (w: Workload, o: { entry: PeerEntry; info: PeerInfo }): boolean => {
    if (w.kind !== "multi") return true;
    const reason = multiSkipReason(w, o.info.multi);
    if (reason === null) return true;
    const k = `${reason}\u0000${o.entry.name}`;
    const s = pairSkips.get(k) ?? { peer: o.entry.name, workloads: [] };
    if (!s.workloads.includes(w.name)) s.workloads.push(w.name);
    pairSkips.set(k, s);
    return false;
  };
  const jobs: Job[] = [];
  for (let rep = 0; rep < opts.runs; rep++) {
    for (const w of opts.workloads) {
      for (let k = 0; k < ok.length; k++) {
        const o = ok[(k + rep) % ok.length];
        if (takesPart(w, o)) jobs.push({ peer: o.entry, workload: w, rep });
      }
    }
  }
  // One note per (reason, workloads), naming every peer it applies to.
  const grouped = new Map<string, string[]>();
  for (const [k, sk] of pairSkips) {
    const reason = `not run on ${sk.workloads.join(", ")}: ${k.split("\u0000")[0]}`;
    grouped.set(reason, [...(grouped.get(reason) ?? []), sk.peer]);
  }
  const notRun = [...grouped].map(([reason, peers]) => ({ peers, reason }));
  for (const n of notRun) log(`${n.peers.join(", ")}: ${n.reason}`);

  const runsOf = new Map<string, { result: ChildResult[] }>();
  const key = (w: string, p: string): string => `${w}\u0000${p}`;
  const failed = new Set<string>();
  const dropped = new Map<string, string>(); // peer -> skip reason found in a child
  const t0 = performance.now();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i];
    const k = key(job.workload.name, job.peer.name);
    if (failed.has(k) || dropped.has(job.peer.name)) continue;
    progress(
      `[${i + 1}/${jobs.length}] run ${job.rep + 1}/${opts.runs} · ${job.workload.name} · ${job.peer.name} · ` +
        `${jobs.length - i - 1} left · ${fmtDuration(performance.now() - t0)} elapsed`,
    );
    const result = await runChild(job, opts);
    const bucket = runsOf.get(k) ?? { result: [] };
    bucket.result.push(result);
    runsOf.set(k, bucket);
    if (result.status === "error") {
      failed.add(k);
      endProgress();
      log(`error: ${job.peer.name} on ${job.workload.name}: ${errorLine(result.error)} (its remaining runs are skipped)`);
    } else if (result.status === "skipped" && result.scope === "pair") {
      // (run.ts does not schedule such pairs; a child that disagrees skips just this pair.)
      failed.add(k);
      notRun.push({ peers: [job.peer.name], reason: `not run on ${job.workload.name}: ${result.reason}` });
      endProgress();
      log(`${job.peer.name} on ${job.workload.name}: ${result.reason}`);
    } else if (result.status === "skipped") {
      dropped.set(job.peer.name, result.reason);
      endProgress();
      log(`${job.peer.name}: ${result.reason}`);
    }
  }
  endProgress();
  const loadEnd = machine().load;
  log(`done in ${fmtDuration(performance.now() - t0)} · load ${loadEnd} at the end`);

  for (const [peer, reason] of dropped) {
    const names = skipped.get(reason) ?? [];
    names.push(peer);
    skipped.set(reason, names);
  }
  const runnable = ok.filter((o) => !dropped.has(o.entry.name));

  const cells: Cell[] = [];
  const warnings: string[] = [];
  const commitAfter = commitId();
  const buildAfter = buildDigest(loadsSrc);
  if (commitAfter !== meta.commit || buildAfter !== meta.build) {
    const w = `the code changed during the run (commit ${meta.commit} → ${commitAfter}, build ${meta.build} → ${buildAfter}): later runs measured other code; rerun`;
    warnings.push(w);
    log(`warning: ${w}`);
  }
  for (const w of opts.workloads) {
    for (const { entry, info } of runnable) {
      const bucket = runsOf.get(key(w.name, entry.name));
      if (bucket === undefined) continue;
      const runs: RunRecord[] = [];
      const errors: string[] = [];
      let first: Extract<ChildResult, { status: "ok" }> | undefined;
      for (const r of bucket.result) {
        if (r.status === "ok") {
          first ??= r;
          runs.push(...r.runs);
        } else if (r.status === "error") errors.push(r.error);
      }
      const rates = runs.map((r) => r.iterations / r.seconds);
      const footprints = runs.map((r) => r.peakFootprintBytes).filter((v): v is number => v !== null);
      const lives = runs.map((r) => r.peakLiveBytes).filter((v): v is number => v !== null);
      cells.push({
        workload: w.name,
        peer: entry.name,
        params: first?.params ?? (opts.quick ? w.quickParams : w.params),
        describe: first?.describe ?? w.describe(opts.quick ? w.quickParams : w.params),
        shortened: first?.shortened ?? false,
        reallocNative: info.reallocNative,
        runs,
        opsPerSec: rates.length > 0 ? summarize(rates) : null,
        peakFootprintBytes: footprints.length > 0 ? Math.max(...footprints) : null,
        peakLiveBytes: lives.length > 0 ? Math.max(...lives) : null,
        errors,
      });
      // (Multi-worker runs interleave differently every time: their peaks differ, and the largest is reported.)
      if (new Set(footprints).size > 1 && w.kind === "single") warnings.push(`${entry.name} on ${w.name}: peak footprint differs between runs (${[...new Set(footprints)].join(", ")}); the largest is reported`);
    }
    // Determinism: every peer that ran the same parameters must report the same checksum.
    const byParams = new Map<string, Set<number>>();
    for (const c of cells.filter((x) => x.workload === w.name)) {
      const p = JSON.stringify(c.params);
      const set = byParams.get(p) ?? new Set<number>();
      for (const r of c.runs) set.add(r.checksum);
      byParams.set(p, set);
    }
    for (const [p, set] of byParams) {
      if (set.size > 1) warnings.push(`${w.name} ${p}: runs disagree on the checksum (${[...set].join(", ")}): the workload is not deterministic`);
    }
  }

  const defaultParams = (w: Workload) => (opts.quick ? w.quickParams : w.params);
  const report: Report = {
    meta: { ...meta, loadEnd, seconds: Math.round((performance.now() - t0) / 1000) },
    workloads: opts.workloads.map((w) => ({
      name: w.name,
      kind: w.kind,
      summary: w.summary,
      iterationUnit: w.iterationUnit,
      iterationParam: w.iterationParam,
      describe: w.describe(defaultParams(w)),
      ...(w.kind === "multi"
        ? { how: Object.fromEntries(w.modes.map((m) => [m, w.how(m, defaultParams(w))])) }
        : {}),
    })),
    peers: runnable.map((o) => o.info),
    skipped: [...[...skipped].map(([reason, peers]) => ({ peers, reason })), ...notRun],
    cells,
    warnings,
  };

  await mkdir(RESULTS_DIR, { recursive: true });
  // The rows of C compiled to wasm (bench/wasm/suite.ts) come with the whole suite, not with a selection.
  const wasm = opts.workloads.length === WORKLOADS.length ? await runWasmSuite({ quick: opts.quick, runs: opts.runs, programs: true, log }) : null;
  if (wasm !== null) await writeFile(join(RESULTS_DIR, "wasm.json"), `${JSON.stringify(wasm.json, null, 2)}\n`);
  const md = renderMarkdown(report) + (wasm?.markdown ?? "");
  await writeFile(join(RESULTS_DIR, "latest.md"), md);
  await writeFile(join(RESULTS_DIR, "latest.json"), `${JSON.stringify(report, null, 2)}\n`);
  await writeFile(join(RESULTS_DIR, "latest.svg"), renderSvg(report));
  process.stdout.write(md);
  log(`wrote ${join(RESULTS_DIR, "latest.md")}, latest.json, latest.svg`);
}

main().catch((err: unknown) => {
  endProgress();
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
