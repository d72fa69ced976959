/**
 * wasm/suite — the benchmark rows of C compiled to WebAssembly: hakmem as the heap of an
 * Emscripten module (through hakmem/emscripten) against Emscripten's own dlmalloc and emmalloc.
 *
 * Rows:
 * - C workloads (bench/wasm/*.c, the definitions of the JS workloads of the same names):
 *   random_mixed (one thread), larson_t1/t2/t4 (pthreads), xthread (pthreads, every free
 *   cross-thread), on hakmem, dlmalloc and emmalloc. Figure: iterations/s timed inside the
 *   program (its RESULT line); peak Memory.
 * - spin_t1, spin_t2 (bench/wasm/spin.c, one build): threads that only compute, the control
 *   for the scaling figures: how much parallelism the machine gave during the run.
 * - The boundary (bench/wasm/boundary.c) on each heap: nanoseconds of a wasm->JS call of an
 *   empty import, of a wasm call, of a malloc/free pair and of a batch of them: what the crossing
 *   costs that every hakmem malloc and free makes.
 * - Real programs (bench/wasm/programs.ts, from Debian's emscripten package) on hakmem and
 *   dlmalloc: milliseconds from preRun to exit (static constructors and main), peak Memory, and
 *   the output, which must be the same on both.
 * Method: every program is built once per heap (cached, bench/wasm/emcc.ts), then R repetitions;
 * in each, every row runs once per heap, each run a fresh `node` process, the heap order rotated
 * by one each repetition. Figures are medians over the R runs with [min–max]; ratios are of
 * medians within this run. Programs are built with -O2 -sALLOW_MEMORY_GROWTH -sEXIT_RUNTIME
 * (threaded ones with -pthread and a pool of workers started with the module). The threaded C
 * workloads also with -sPROXY_TO_PTHREAD: main() runs in a pthread, because Emscripten's main
 * thread busy-waits in pthread_join (it may not block in a browser) and would take a core from
 * the threads being measured.
 * Without emcc every row is skipped with a note that names the apt command.
 */

import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { RESULTS_DIR, commitId, machine } from "../lib/env.js";
import { fmtBytes, fmtRate, fmtRatio, summarize } from "../lib/stats.js";
import type { Summary } from "../lib/model.js";
import { EMCC_MISSING, buildProgram, emccVersion, findEmcc, runProgram, type BuildSpec, type WasmHeap } from "./emcc.js";
import { REAL_PROGRAMS, programSource, type RealProgram } from "./programs.js";

export interface WasmSuiteOptions {
  quick: boolean;
  runs: number;
  /** Real programs too (they take longer than the C workloads). */
  programs: boolean;
  log(line: string): void;
}

interface WorkloadRow {
  name: string;
  source: string;
  threads: number;
  args: string[];
  describe: string;
  flags?: string[];
  /** The heaps it runs on (default: all three). */
  heaps?: readonly WasmHeap[];
}

const source = (file: string): string => fileURLToPath(new URL(`../../../bench/wasm/${file}`, import.meta.url));

function workloadRows(quick: boolean): WorkloadRow[] {
  const n = quick ? 500_000 : 2_000_000;
  const r = quick ? 250_000 : 1_000_000;
  const larson = (t: number): WorkloadRow => ({
    name: `larson_t${t}`,
    source: source("larson.c"),
    threads: 5,
    flags: ["-sPROXY_TO_PTHREAD"],
    args: [String(t), "1000", "4", String(r), "16", "1009", "42"],
    describe: `T=${t} threads, M=1,000, 16–1,024 B, G=4 generations × R=${r.toLocaleString("en-US")} ops/thread, seed 42`,
  });
  const spin = (t: number): WorkloadRow => ({
    name: `spin_t${t}`,
    source: source("spin.c"),
    threads: 3,
    args: [String(t), String(quick ? 100_000_000 : 400_000_000)],
    describe: `control: T=${t} threads that only compute (no allocation)`,
    flags: ["-sPROXY_TO_PTHREAD"],
    heaps: ["hakmem"],
  });
  return [
    {
      name: "random_mixed",
      source: source("random_mixed.c"),
      threads: 0,
      args: ["4096", String(n), "42", "16", "1009"],
      describe: `W=4,096, N=${n.toLocaleString("en-US")}, 16–1,024 B, seed 42, one thread`,
    },
    larson(1),
    larson(2),
    larson(4),
    spin(1),
    spin(2),
    {
      name: "boundary",
      source: source("boundary.c"),
      threads: 0,
      args: [String(quick ? 2_000_000 : 10_000_000)],
      describe: "ns per iteration: wasm->JS call, wasm call, malloc(64)+free, batch of 100 mallocs then 100 frees (per block)",
      flags: ["--js-library", source("boundary_library.js")],
    },
    {
      name: "xthread",
      source: source("xthread.c"),
      threads: 3,
      flags: ["-sPROXY_TO_PTHREAD"],
      args: [String(n), "16", "1009", "1024", "64", "42"],
      describe: `N=${n.toLocaleString("en-US")}, 16–1,024 B, ring Q=1,024, batch B=64: a producer thread mallocs, a consumer thread frees`,
    },
  ];
}

/** One cell: a row on a heap. */
interface Cell {
  row: string;
  heap: WasmHeap;
  /** iterations/s (workloads) or milliseconds (programs). */
  values: number[];
  memory: number[];
  outputs: Set<string>;
  error?: string;
}

export interface WasmSuiteResult {
  markdown: string;
  json: unknown;
}

const HEAPS_WORKLOADS: readonly WasmHeap[] = ["hakmem", "dlmalloc", "emmalloc"];
const HEAPS_PROGRAMS: readonly WasmHeap[] = ["hakmem", "dlmalloc"];

/** Runs the wasm rows; returns their Markdown section and data. */
export async function runWasmSuite(o: WasmSuiteOptions): Promise<WasmSuiteResult> {
  const emcc = findEmcc();
  if (emcc === null) {
    o.log(`wasm rows skipped: ${EMCC_MISSING}`);
    return { markdown: `\n## C compiled to WebAssembly\n\nSkipped: ${EMCC_MISSING}.\n`, json: { skipped: EMCC_MISSING } };
  }
  const banner = emccVersion(emcc);
  const version = `emcc ${/\d+\.\d+\.\d+/.exec(banner)?.[0] ?? banner}`;
  type Job = { row: string; heap: WasmHeap; js: string; args: string[]; kind: "workload" | "program" };
  const jobs: Job[][] = []; // per row: one job per heap
  const notes: string[] = [];
  const rows = workloadRows(o.quick);
  for (const w of rows) {
    const perHeap: Job[] = [];
    for (const heap of w.heaps ?? HEAPS_WORKLOADS) {
      o.log(`building ${w.name} on ${heap}`);
      const spec: BuildSpec = { name: w.source.replace(/.*\//, "").replace(/\.c$/, ""), sources: [w.source], heap, threads: w.threads, flags: w.flags };
      perHeap.push({ row: w.name, heap, js: await buildProgram(emcc, spec), args: w.args, kind: "workload" });
    }
    jobs.push(perHeap);
  }
  const programs: RealProgram[] = [];
  if (o.programs) {
    for (const p of REAL_PROGRAMS) {
      const src = programSource(p);
      if (src === null) {
        notes.push(`${p.name}: ${p.file} not found in Debian's emscripten package`);
        continue;
      }
      programs.push(p);
      const perHeap: Job[] = [];
      for (const heap of HEAPS_PROGRAMS) {
        o.log(`building ${p.name} on ${heap}`);
        const js = await buildProgram(emcc, { name: p.name, sources: [src], heap, threads: p.threads, flags: p.flags });
        perHeap.push({ row: p.name, heap, js, args: p.benchArgs, kind: "program" });
      }
      jobs.push(perHeap);
    }
  }

  const cells = new Map<string, Cell>();
  const cellOf = (row: string, heap: WasmHeap): Cell => {
    const k = `${row}/${heap}`;
    let c = cells.get(k);
    if (c === undefined) cells.set(k, (c = { row, heap, values: [], memory: [], outputs: new Set() }));
    return c;
  };
  const boundary = new Map<WasmHeap, number[][]>(HEAPS_WORKLOADS.map((h) => [h, []]));
  const t0 = performance.now();
  for (let rep = 0; rep < o.runs; rep++) {
    for (const perHeap of jobs) {
      for (let i = 0; i < perHeap.length; i++) {
        const job = perHeap[(i + rep) % perHeap.length]!;
        const cell = cellOf(job.row, job.heap);
        if (cell.error !== undefined) continue;
        o.log(`[${rep + 1}/${o.runs}] ${job.row} on ${job.heap}`);
        try {
          const r = await runProgram(job.js, job.args, 600_000);
          if (r.code !== 0) throw new Error(`exit code ${r.code}: ${r.stderr.trim().split("\n").slice(-3).join(" / ")}`);
          if (job.row === "boundary") {
            const m = /^RESULT_NS ([\d.]+) ([\d.]+) ([\d.]+) ([\d.]+)$/m.exec(r.stdout);
            if (m === null) throw new Error(`no RESULT_NS line in: ${r.stdout.slice(0, 200)}`);
            boundary.get(job.heap)!.push(m.slice(1).map(Number));
          } else if (job.kind === "workload") {
            const m = /^RESULT (\d+) ([\d.]+) (\d+)$/m.exec(r.stdout);
            if (m === null) throw new Error(`no RESULT line in: ${r.stdout.slice(0, 200)}`);
            cell.values.push(Number(m[1]) / Number(m[2]));
            cell.outputs.add(m[3]!); // checksum
          } else {
            cell.values.push(r.ms);
            cell.outputs.add(r.stdout);
          }
          cell.memory.push(r.memoryBytes);
        } catch (err) {
          cell.error = err instanceof Error ? err.message : String(err);
          o.log(`error: ${job.row} on ${job.heap}: ${cell.error}`);
        }
      }
    }
  }
  const seconds = Math.round((performance.now() - t0) / 1000);
  return render(o, version, seconds, rows, programs, cells, boundary, notes);
}

function median(c: Cell | undefined): Summary | null {
  return c === undefined || c.error !== undefined || c.values.length === 0 ? null : summarize(c.values);
}

const geomean = (xs: number[]): number => Math.exp(xs.reduce((s, x) => s + Math.log(x), 0) / xs.length);

function render(
  o: WasmSuiteOptions,
  version: string,
  seconds: number,
  rows: WorkloadRow[],
  programs: RealProgram[],
  cells: Map<string, Cell>,
  boundary: Map<WasmHeap, number[][]>,
  notes: string[],
): WasmSuiteResult {
  const get = (row: string, heap: WasmHeap): Cell | undefined => cells.get(`${row}/${heap}`);
  const rate = (s: Summary | null): string => (s === null ? "n/a" : `${fmtRate(s.median)} [${fmtRate(s.min)}–${fmtRate(s.max)}]`);
  const ms = (s: Summary | null): string => (s === null ? "n/a" : `${s.median.toFixed(0)} [${s.min.toFixed(0)}–${s.max.toFixed(0)}]`);
  const peak = (c: Cell | undefined): string => (c === undefined || c.memory.length === 0 ? "n/a" : fmtBytes(Math.max(...c.memory)));
  const lines: string[] = [];
  lines.push("", "## C compiled to WebAssembly (Emscripten)", "");
  lines.push(
    `hakmem as the heap of Emscripten modules (hakmem/emscripten) against Emscripten's dlmalloc and emmalloc; ${version}; ` +
      `${o.runs} runs per cell, each a fresh process, heaps interleaved; median [min–max]; the run took ${seconds} s (bench/wasm/suite.ts).`,
    "",
  );
  lines.push("### C workloads (iterations/s, timed inside the program)", "");
  lines.push("| workload | parameters | hakmem | dlmalloc | emmalloc | hakmem / dlmalloc | hakmem / emmalloc | peak Memory (hakmem / dlmalloc / emmalloc) |");
  lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
  const data: Record<string, unknown> = {};
  for (const w of rows.filter((r) => r.name !== "boundary" && r.heaps === undefined)) {
    const [h, d, e] = HEAPS_WORKLOADS.map((heap) => median(get(w.name, heap)));
    const ratio = (a: Summary | null, b: Summary | null): string => (a === null || b === null ? "n/a" : fmtRatio(a.median / b.median));
    lines.push(
      `| ${w.name} | ${w.describe} | ${rate(h!)} | ${rate(d!)} | ${rate(e!)} | ${ratio(h!, d!)} | ${ratio(h!, e!)} | ` +
        `${HEAPS_WORKLOADS.map((heap) => peak(get(w.name, heap))).join(" / ")} |`,
    );
    data[w.name] = Object.fromEntries(HEAPS_WORKLOADS.map((heap) => [heap, { iterationsPerSecond: median(get(w.name, heap)), memoryBytes: get(w.name, heap)?.memory }]));
  }
  const scaling = (heap: WasmHeap, t: number): string => {
    const a = median(get(`larson_t${t}`, heap));
    const b = median(get("larson_t1", heap));
    return a === null || b === null ? "n/a" : fmtRatio(a.median / b.median);
  };
  const spin1 = median(get("spin_t1", "hakmem"));
  const spin2 = median(get("spin_t2", "hakmem"));
  const control = spin1 === null || spin2 === null ? "n/a" : fmtRatio(spin2.median / spin1.median);
  lines.push("", `Scaling of the summed rate: larson_t2 / larson_t1: ${HEAPS_WORKLOADS.map((heap) => `${heap} ${scaling(heap, 2)}`).join(", ")}; ` +
    `larson_t4 / larson_t1: ${HEAPS_WORKLOADS.map((heap) => `${heap} ${scaling(heap, 4)}`).join(", ")}. ` +
    `Control: two threads that only compute ran at ${control} the rate of one (bench/wasm/spin.c; 2× on an idle 2-core machine): the parallelism the machine gave during this run.`);
  data.spinScaling = spin1 === null || spin2 === null ? null : spin2.median / spin1.median;
  lines.push("", "### The wasm->JS boundary (ns per iteration, median over the runs)", "");
  lines.push("| heap | wasm->JS call of an empty import | wasm call | malloc(64) + free, same block | malloc + free in batches of 100, 16–1,024 B |");
  lines.push("| --- | ---: | ---: | ---: | ---: |");
  const boundaryData: Record<string, number[]> = {};
  for (const heap of HEAPS_WORKLOADS) {
    const runs = boundary.get(heap)!;
    if (runs.length === 0) continue;
    const med = [0, 1, 2, 3].map((k) => summarize(runs.map((r) => r[k]!)).median);
    boundaryData[heap] = med;
    lines.push(`| ${heap} | ${med[0]!.toFixed(1)} | ${med[1]!.toFixed(1)} | ${med[2]!.toFixed(1)} | ${med[3]!.toFixed(1)} |`);
  }
  if (boundaryData.hakmem !== undefined) {
    const [call, , pair] = boundaryData.hakmem;
    lines.push("", `Each hakmem malloc and free is one wasm->JS call: of hakmem's ${pair!.toFixed(1)} ns per pair, two calls take about ${(2 * call!).toFixed(1)} ns.`);
  }
  data.boundary = boundaryData;
  for (const w of rows.filter((r) => r.name !== "boundary" && r.heaps === undefined)) {
    const sums = new Set(HEAPS_WORKLOADS.flatMap((heap) => [...(get(w.name, heap)?.outputs ?? [])]));
    if (sums.size > 1) lines.push("", `Warning: ${w.name}: the heaps disagree on the checksum (${[...sums].join(", ")}).`);
  }

  if (programs.length > 0) {
    lines.push("", "### Real programs (milliseconds from preRun to exit; lower is better)", "");
    lines.push("| program | arguments | hakmem ms | dlmalloc ms | speed hakmem / dlmalloc | peak Memory hakmem | peak Memory dlmalloc | Memory hakmem / dlmalloc | output |");
    lines.push("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |");
    const speed: number[] = [];
    const heavy: number[] = [];
    const memory: number[] = [];
    for (const p of programs) {
      const h = median(get(p.name, "hakmem"));
      const d = median(get(p.name, "dlmalloc"));
      const mh = get(p.name, "hakmem")?.memory ?? [];
      const md = get(p.name, "dlmalloc")?.memory ?? [];
      const outs = new Set([...(get(p.name, "hakmem")?.outputs ?? []), ...(get(p.name, "dlmalloc")?.outputs ?? [])]);
      const s = h === null || d === null ? null : d.median / h.median;
      const m = mh.length === 0 || md.length === 0 ? null : Math.max(...mh) / Math.max(...md);
      if (s !== null) {
        speed.push(s);
        if (p.mallocHeavy) heavy.push(s);
      }
      if (m !== null) memory.push(m);
      lines.push(
        `| ${p.name}${p.mallocHeavy ? " (malloc-heavy)" : ""} | ${p.benchArgs.join(" ") || "(none)"} | ${ms(h)} | ${ms(d)} | ${s === null ? "n/a" : fmtRatio(s)} | ` +
          `${peak(get(p.name, "hakmem"))} | ${peak(get(p.name, "dlmalloc"))} | ${m === null ? "n/a" : fmtRatio(m)} | ${outs.size === 1 ? "identical" : "DIFFERENT"} |`,
      );
      data[p.name] = { hakmem: { ms: h, memoryBytes: mh }, dlmalloc: { ms: d, memoryBytes: md }, identical: outs.size === 1 };
    }
    lines.push(
      "",
      `Geometric means of hakmem / dlmalloc: speed ${speed.length > 0 ? fmtRatio(geomean(speed)) : "n/a"} over all programs, ` +
        `${heavy.length > 0 ? fmtRatio(geomean(heavy)) : "n/a"} over the malloc-heavy ones; peak Memory ${memory.length > 0 ? fmtRatio(geomean(memory)) : "n/a"}.`,
    );
  }
  for (const c of cells.values()) if (c.error !== undefined) notes.push(`${c.row} on ${c.heap}: ${c.error}`);
  if (notes.length > 0) lines.push("", ...notes.map((n) => `- ${n}`));
  lines.push("");
  return { markdown: lines.join("\n"), json: { emcc: version, runs: o.runs, quick: o.quick, seconds, rows: data, notes } };
}

/**
 * Writes bench/results/wasm.md (a header naming commit, machine, date and `command`, then the
 * rows) and wasm.json; returns the Markdown. Both `npm run bench:wasm` and the whole suite write
 * them, so that wasm.md always holds the latest figures.
 */
export async function writeWasmReport(result: WasmSuiteResult, command: string, loadAtStart: string): Promise<string> {
  const m = machine();
  const header =
    `# hakmem wasm benchmarks\n\n- commit: \`${commitId()}\`\n- machine: ${m.cpu}, ${m.cores} cores, ${m.platform}; Node ${m.node} (V8 ${m.v8}); ` +
    `load average ${loadAtStart} at the start\n- date: ${new Date().toISOString()}\n- command: \`${command}\`\n`;
  const md = `${header}${result.markdown}`;
  await mkdir(RESULTS_DIR, { recursive: true });
  await writeFile(join(RESULTS_DIR, "wasm.md"), md);
  await writeFile(join(RESULTS_DIR, "wasm.json"), `${JSON.stringify(result.json, null, 2)}\n`);
  return md;
}
