/**
 * run — the benchmark suite: every selected workload × peer, each pair in processes of its own,
 * interleaved, then the footprint runs; reported as Markdown, JSON and SVG.
 *
 *   npm run bench                        (= npm run build:dev && node build/bench/run.js)
 *   node build/bench/run.js [--quick] [--runs R] [--warmup K] [--workloads a,b] [--peers a,b] [--checked] [--cold] [--no-footprint]
 *
 * Method (what the numbers mean):
 * - Each timed run happens in a fresh `node --expose-gc build/bench/child.js` process that runs
 *   one (peer, workload) pair in steady state: ONE allocator instance, K warm-up runs on it (each
 *   the very run that is then timed; K = 2, 1 with --quick, or --warmup), then the timed run on
 *   that same warm instance (child.ts), so that no peer pays a new buffer's first touches inside
 *   the clock. One allocator class per process keeps
 *   the loops monomorphic. The native peers (peers/native.ts) are a C program run the same way
 *   (warm-up runs, then the timed run, in one process), started directly instead of child.js.
 * - --cold: the timed run on a fresh instance instead (the warm-up runs on another one; natives:
 *   no warm-up run); the report then says "cold" everywhere.
 * - Repetitions are interleaved: for r in 1..R, for each workload, every peer once, the peer order
 *   rotated by one each repetition. Processes run one at a time. A machine that drifts (thermal,
 *   neighbours) thus hurts all peers alike; figures are the median and min–max over the R runs.
 * - --quick: the workloads' quick parameters (a quarter of the iterations), R = 3, K = 1, and the
 *   slow peers shortened harder; shortened runs are marked as such. bench/README.md says how long it
 *   takes.
 * - Ratios are hakmem's median over the peer's median, taken within this one run only.
 * - Multi-worker workloads (larson_t1/t2/t4, mid_large_mt, xthread, xthread_local) are scheduled the
 *   same way, one child per (peer, workload, repetition); the child starts the workers. A peer
 *   that cannot take part in one (workloads/types.ts multiSkipReason) is not scheduled for it, and
 *   the output says why. They get a table of their own in the Markdown.
 * - Then, unless --no-footprint, one `node build/bench/footprint.js` process measures every peer's
 *   footprint (untimed, fresh instances, one worker and eight; see footprint.ts).
 * Output: bench/results/latest.md, latest.json, latest.svg (the Markdown also on stdout); progress
 * on stderr. The full suite also runs the rows of C compiled to wasm (bench/wasm/suite.ts; data in
 * bench/results/wasm.md and wasm.json, as npm run bench:wasm writes them).
 */

import { execFile, spawn } from "node:child_process";
import { mkdir, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { RESULTS_DIR, TMP_DIR, buildDigest, commitId, machine } from "./lib/env.js";
import { intOption, listOption, parseCommandLine } from "./lib/args.js";
import { FOOTPRINT_PREFIX, RESULT_PREFIX, type Cell, type ChildResult, type FootprintReport, type Meta, type Report, type RunRecord } from "./lib/model.js";
import { errorLine, summarize } from "./lib/stats.js";
import { PEERS, importPeer, peerEntry, type PeerEntry } from "./peers/index.js";
import { PeerSkipped, infoOf, type ExternalPeer, type Peer, type PeerInfo } from "./peers/types.js";
import { renderMarkdown } from "./report/markdown.js";
import { renderSvg } from "./report/svg.js";
import { WORKLOADS, workload as findWorkload } from "./workloads/index.js";
import { runWasmSuite, writeWasmReport } from "./wasm/suite.js";
import { multiSkipReason, type Workload } from "./workloads/types.js";

const CHILD = join(dirname(fileURLToPath(import.meta.url)), "child.js");
const FOOTPRINT = join(dirname(fileURLToPath(import.meta.url)), "footprint.js");
/** A child that runs longer than this is killed and its pair reported as an error. */
const CHILD_TIMEOUT_MS = 15 * 60 * 1000;

interface Options {
  quick: boolean;
  runs: number;
  warmup: number;
  workloads: Workload[];
  peers: PeerEntry[];
  checked: boolean;
  cold: boolean;
  footprint: boolean;
}

const USAGE = `usage: node build/bench/run.js [options]
  --quick            short workloads, 3 runs, 1 warm-up run, slow peers shortened harder (see bench/README.md for its time)
  --runs R           timed runs per (workload, peer), each in its own process (default 5; quick 3)
  --warmup K         warm-up runs per process (the same run), on the instance then timed (default 2; quick 1)
  --workloads a,b    workloads to run (default all): ${WORKLOADS.map((w) => w.name).join(", ")}
  --peers a,b        peers to run (default all but opt-in ones): ${PEERS.map((p) => p.name).join(", ")}
  --checked          also run hakmem-checked (skipped with a note if createHeap rejects { check: true })
  --cold             time each run on a fresh instance (warm-up on another one), labelled "cold"
  --no-footprint     skip the footprint runs (bench/footprint.ts)
  --help             this text
`;

function parseOptions(argv: string[]): Options {
  const values = parseCommandLine(
    argv,
    {
      quick: { type: "boolean" },
      runs: { type: "string" },
      warmup: { type: "string" },
      workloads: { type: "string" },
      peers: { type: "string" },
      checked: { type: "boolean" },
      cold: { type: "boolean" },
      "no-footprint": { type: "boolean" },
    },
    USAGE,
  );
  const quick = values.quick === true;
  const checked = values.checked === true;
  const workloadNames = listOption(values.workloads);
  const peerNames = listOption(values.peers);
  const workloads = workloadNames === undefined ? [...WORKLOADS] : workloadNames.map(findWorkload);
  const peers =
    peerNames === undefined
      ? PEERS.filter((p) => p.optIn === undefined || (p.optIn === "--checked" && checked))
      : peerNames.map(peerEntry);
  return {
    quick,
    runs: intOption("runs", values.runs, 1, quick ? 3 : 5),
    warmup: intOption("warmup", values.warmup, 0, quick ? 1 : 2),
    workloads,
    peers,
    checked,
    cold: values.cold === true,
    footprint: values["no-footprint"] !== true,
  };
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

/** A peer prepared and loaded in this process. */
interface Prepared {
  entry: PeerEntry;
  info: PeerInfo;
  /** The loaded peer (the native ones run from here). */
  peer: Peer;
}

/** Prepares and probes each peer in this process; returns the runnable ones and the skips. */
async function preparePeers(entries: readonly PeerEntry[]): Promise<{ ok: Prepared[]; skipped: Map<string, string[]> }> {
  const ok: Prepared[] = [];
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
      ok.push({ entry, info: { ...infoOf(peer), name: entry.name }, peer });
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
  /** Set for the native peers: their program runs the workload (no child.js). */
  external: ExternalPeer | undefined;
  info: PeerInfo;
}

/** Runs one job in its own process; resolves with its result (errors included, never rejects). */
function runChild(job: Job, opts: Options): Promise<ChildResult> {
  if (job.external !== undefined) return runExternal(job, job.external, opts);
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
    ...(opts.cold ? ["--cold"] : []),
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

/** A native peer's job: its program does the warm-up and timed runs (child.ts's method) in one process. */
async function runExternal(job: Job, external: ExternalPeer, opts: Options): Promise<ChildResult> {
  const w = job.workload;
  const base = { peer: job.peer.name, workload: w.name };
  try {
    if (w.kind !== "single") throw new Error(`${w.name} is not a single-worker workload`);
    const params = opts.quick ? w.quickParams : w.params;
    const runs = await external.run(w, params, opts.cold ? 0 : opts.warmup, 1);
    return { status: "ok", ...base, peer: job.info, params, describe: w.describe(params), shortened: false, warmupRuns: opts.cold ? 0 : opts.warmup, runs };
  } catch (err) {
    return { status: "error", ...base, error: err instanceof Error ? (err.stack ?? err.message) : String(err) };
  }
}

/** The footprint runs, in a process of their own; an error comes back as a note. */
function runFootprint(peers: readonly string[], opts: Options): Promise<FootprintReport> {
  const args = [FOOTPRINT, "--json", "--prepared", "--peers", peers.join(","), ...(opts.quick ? ["--quick"] : [])];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: CHILD_TIMEOUT_MS, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      const line = stdout.split("\n").find((l) => l.startsWith(FOOTPRINT_PREFIX));
      if (line !== undefined) resolve(JSON.parse(line.slice(FOOTPRINT_PREFIX.length)) as FootprintReport);
      else resolve({ fresh: [], rows: [], notes: [`the footprint runs failed: ${errorLine(stderr || String(err))}`] });
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
    cold: opts.cold,
    runs: opts.runs,
    warmup: opts.warmup,
    command: ["node build/bench/run.js", ...process.argv.slice(2)].join(" "),
  };
  log(`hakmem bench · commit ${meta.commit} (build ${meta.build}) · Node ${meta.node} · ${meta.cpu} · ${meta.cores} cores · load ${meta.load}`);
  log(
    `options: ${opts.quick ? "quick, " : ""}${opts.cold ? "cold, " : ""}runs=${opts.runs}, warmup=${opts.warmup}, workloads=${opts.workloads.map((w) => w.name).join(",")}, ` +
      `peers=${opts.peers.map((p) => p.name).join(",")}`,
  );

  const { ok, skipped } = await preparePeers(opts.peers);
  for (const [reason, names] of skipped) log(`${names.join(", ")}: ${reason}`);
  if (ok.length === 0) throw new Error("no peer can run");

  // Multi-worker workloads run only the peers that can take part, native peers only the workloads
  // ring.c has; the others are noted once.
  const pairSkips = new Map<string, { peer: string; workloads: string[] }>(); // reason+peer -> workloads
  const takesPart = (w: Workload, o: Prepared): boolean => {
    const reason =
      w.kind === "multi" ? multiSkipReason(w, o.info) : o.peer.external !== undefined && w.native === undefined ? "no native form (bench/native/ring.c)" : null;
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
        if (takesPart(w, o)) jobs.push({ peer: o.entry, workload: w, rep, external: o.peer.external, info: o.info });
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
  log(`timed runs done in ${fmtDuration(performance.now() - t0)}`);

  for (const [peer, reason] of dropped) {
    const names = skipped.get(reason) ?? [];
    names.push(peer);
    skipped.set(reason, names);
  }
  const runnable = ok.filter((o) => !dropped.has(o.entry.name));

  let footprint: FootprintReport | undefined;
  if (opts.footprint) {
    progress("footprint runs (untimed, bench/footprint.ts)");
    footprint = await runFootprint(runnable.map((o) => o.entry.name), opts);
    endProgress();
  }
  const loadEnd = machine().load;
  log(`done in ${fmtDuration(performance.now() - t0)} · load ${loadEnd} at the end`);

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
      // Multi-worker runs only (single-worker footprints: footprint.ts). Their workers interleave
      // differently every time, so peaks differ between runs: the largest is reported.
      const footprints = runs.map((r) => r.peakFootprintBytes).filter((v): v is number => v !== null);
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
        errors,
      });
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
    ...(footprint !== undefined ? { footprint } : {}),
  };

  await mkdir(RESULTS_DIR, { recursive: true });
  // The rows of C compiled to wasm (bench/wasm/suite.ts) come with the whole suite, not with a selection.
  const wasmLoad = String(machine().load);
  const wasm = opts.workloads.length === WORKLOADS.length ? await runWasmSuite({ quick: opts.quick, runs: opts.runs, programs: true, log }) : null;
  if (wasm !== null) await writeWasmReport(wasm, `node build/bench/run.js ${process.argv.slice(2).join(" ")}`.trim(), wasmLoad);
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
