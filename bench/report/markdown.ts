/**
 * report/markdown — latest.md: the run's provenance, throughput per workload × peer (median and
 * min–max of iterations/s), the ratio hakmem / each peer, the footprint table (footprint.ts), the
 * multi-worker workloads (a table of their own: one row per workload × peer, with how that peer
 * runs it, and the ratios larson_tT / larson_t1 and xthread / xthread_local), notes, definitions.
 */

import type { Cell, FootprintReport, Report } from "../lib/model.js";
import { errorLine, fmtBytes, fmtRate, fmtRatio } from "../lib/stats.js";

/** The peer every ratio is taken against. */
export const BASE_PEER = "hakmem";

export function cellOf(report: Report, workload: string, peer: string): Cell | undefined {
  return report.cells.find((c) => c.workload === workload && c.peer === peer);
}

/** The value of the iteration parameter when a cell was shortened, e.g. "N=20,000 (shortened)". */
export function shortenedNote(cell: Cell, report: Report): string {
  const key = report.workloads.find((x) => x.name === cell.workload)?.iterationParam ?? "N";
  const v = cell.params[key];
  return `${key}=${v === undefined ? "?" : v.toLocaleString("en-US")} (shortened)`;
}

function throughputCell(cell: Cell | undefined, report: Report): string {
  if (cell === undefined) return "–";
  if (cell.opsPerSec === null) return `error`;
  const s = cell.opsPerSec;
  let text = `${fmtRate(s.median)} [${fmtRate(s.min)}–${fmtRate(s.max)}]`;
  if (cell.shortened) text += ` · ${shortenedNote(cell, report)}`;
  if (cell.workload === "realloc_grow" && !cell.reallocNative) text += " · realloc emulated";
  return text;
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, "\\|")).join(" | ")} |`;
}

/** Median ratio a / b of two cells, or "n/a". */
function cellRatio(a: Cell | undefined, b: Cell | undefined): string {
  if (a?.opsPerSec == null || b?.opsPerSec == null) return "n/a";
  return fmtRatio(a.opsPerSec.median / b.opsPerSec.median);
}

/** The multi-worker section: one row per (workload, peer), then the ratios it is read for. */
function renderMulti(report: Report, multi: Report["workloads"], out: string[]): void {
  const peers = report.peers.map((p) => p.name);
  out.push("## Multi-worker workloads (iterations/s summed over the workers, median [min–max])", "");
  out.push(
    "Each run starts its workers, lets each attach and warm up, then releases them at once: the clock runs from that " +
      "release to the end of the last worker (worker start-up is outside it, hand-overs and dispose() inside; " +
      "bench/workloads/multi.ts). Peers that cannot take part are listed in the notes.",
    "",
  );
  out.push(row(["workload", "parameters", "peer", "how it runs", "iterations/s", "peak footprint"]));
  out.push(row(["---", "---", "---", "---", "---:", "---:"]));
  for (const w of multi) {
    for (const p of peers) {
      const c = cellOf(report, w.name, p);
      if (c === undefined) continue;
      const mode = report.peers.find((x) => x.name === p)?.multi?.mode;
      const how = (mode !== undefined ? w.how?.[mode] : undefined) ?? "";
      out.push(row([w.name, c.describe, p, how, throughputCell(c, report), fmtBytes(c.peakFootprintBytes)]));
    }
  }
  out.push("");

  const lines: string[] = [];
  const base = peers.includes(BASE_PEER) ? BASE_PEER : null;
  if (base !== null) {
    for (const w of multi) {
      const others = peers.filter((p) => p !== base && cellOf(report, w.name, p)?.opsPerSec != null);
      if (others.length === 0) continue;
      const b = cellOf(report, w.name, base);
      lines.push(`${base} / peer on ${w.name}: ${others.map((p) => `${p} ${cellRatio(b, cellOf(report, w.name, p))}`).join(", ")}`);
    }
  }
  // Scaling: larson_tT over larson_t1, per peer.
  const t1 = multi.find((w) => w.name === "larson_t1");
  if (t1 !== undefined) {
    for (const w of multi.filter((x) => /^larson_t\d+$/.test(x.name) && x.name !== t1.name)) {
      const per = peers
        .map((p) => [p, cellRatio(cellOf(report, w.name, p), cellOf(report, t1.name, p))] as const)
        .filter(([, r]) => r !== "n/a");
      if (per.length > 0) lines.push(`${w.name} / larson_t1 (scaling of the summed rate): ${per.map(([p, r]) => `${p} ${r}`).join(", ")}`);
    }
  }
  if (multi.some((w) => w.name === "xthread") && multi.some((w) => w.name === "xthread_local")) {
    const per = peers
      .map((p) => [p, cellRatio(cellOf(report, "xthread", p), cellOf(report, "xthread_local", p))] as const)
      .filter(([, r]) => r !== "n/a");
    if (per.length > 0) {
      lines.push(
        `xthread / xthread_local (cross-worker over same-worker free, blocks/s of the pair): ${per.map(([p, r]) => `${p} ${r}`).join(", ")}`,
      );
    }
  }
  if (lines.length > 0) {
    out.push("Ratios of medians (this run only):", "");
    for (const l of lines) out.push(`- ${l}`);
    out.push("");
  }
}

/** The footprint section (bench/footprint.ts): what a fresh heap maps, then one row per case × peer. */
export function renderFootprint(fp: FootprintReport): string[] {
  const out: string[] = [];
  out.push("## Footprint (untimed runs, each on a fresh instance: peak footprint / peak live requested bytes)", "");
  out.push(
    "One worker: the loops of the workloads named, with live-byte bookkeeping. Several workers: each runs its own ring at the same time; " +
      "peak live is the sum of each worker's own peak. Each peer's footprint is its own measure (last column); hakmem's mapped bytes are " +
      "stats().mappedBytes at the end of the loop (metadata and every page the buffer backs, used or cached). bench/footprint.ts.",
    "",
  );
  if (fp.fresh.length > 0) {
    out.push(`A fresh instance maps before its first malloc: ${fp.fresh.map((f) => `${f.peer} ${fmtBytes(f.mappedBytes)} (${f.mappedBytes.toLocaleString("en-US")} B)`).join(", ")}.`, "");
  }
  if (fp.rows.length > 0) {
    out.push(row(["case", "parameters", "peer", "peak footprint", "mapped", "peak live", "footprint / live", "mapped / live", "footprint measured as"]));
    out.push(row(["---", "---", "---", "---:", "---:", "---:", "---:", "---:", "---"]));
    const ratio = (v: number | null, live: number): string => (v !== null && live > 0 ? fmtRatio(v / live) : "n/a");
    for (const r of fp.rows) {
      const shortened = r.shortenedTo !== null ? ` · N=${r.shortenedTo.toLocaleString("en-US")} (shortened)` : "";
      out.push(
        row([
          r.case, r.describe, r.peer, fmtBytes(r.peakBytes), fmtBytes(r.mappedBytes), fmtBytes(r.peakLiveBytes),
          ratio(r.peakBytes, r.peakLiveBytes) + shortened, ratio(r.mappedBytes, r.peakLiveBytes), r.measuredAs,
        ]),
      );
    }
    out.push("");
  }
  for (const n of fp.notes) out.push(`- ${n}`);
  if (fp.notes.length > 0) out.push("");
  return out;
}

export function renderMarkdown(report: Report): string {
  const { meta } = report;
  const peers = report.peers.map((p) => p.name);
  const out: string[] = [];
  out.push(`# hakmem benchmarks${meta.quick ? " (quick)" : ""}${meta.cold ? " (cold)" : ""}`, "");
  out.push(`- commit: \`${meta.commit}\` (digest of the compiled code it ran: \`${meta.build}\`)`);
  const busy = meta.load > 0.5 || (meta.loadEnd ?? 0) > 0.5;
  out.push(
    `- machine: ${meta.cpu}, ${meta.cores} cores, ${meta.platform}; Node ${meta.node} (V8 ${meta.v8}); ` +
      `load average ${meta.load} at the start${meta.loadEnd !== undefined ? `, ${meta.loadEnd} at the end` : ""}` +
      `${busy ? " (other processes were competing: expect noise)" : ""}`,
  );
  out.push(`- date: ${meta.date}${meta.seconds !== undefined ? ` (the run took ${meta.seconds} s)` : ""}`);
  const instance = meta.cold
    ? "**cold**: the warm-up runs on an instance of their own, the timed run on a fresh one"
    : "steady state: the warm-up runs and then the timed run on one instance";
  out.push(
    `- method: ${meta.quick ? "**quick** (shorter workloads), " : ""}${meta.runs} timed run${meta.runs === 1 ? "" : "s"} per (workload, peer), each in its own` +
      ` process after ${meta.warmup} warm-up run(s) identical to it (${instance}); processes interleaved round-robin over the peers` +
      " (peer order rotated each repetition); figures are iterations/s, median [min–max] over the runs",
  );
  out.push(`- command: \`${meta.command}\``, "");

  const single = report.workloads.filter((w) => w.kind === "single");
  const multi = report.workloads.filter((w) => w.kind === "multi");
  if (single.length > 0) {
    out.push(`## Throughput (iterations/s, median [min–max]${meta.cold ? ", cold" : ""})`, "");
    out.push(row(["workload", "parameters", ...peers]));
    out.push(row(["---", "---", ...peers.map(() => "---:")]));
    for (const w of single) {
      const cells = peers.map((p) => throughputCell(cellOf(report, w.name, p), report));
      out.push(row([w.name, w.describe, ...cells]));
    }
    out.push("");
  }

  const base = peers.includes(BASE_PEER) ? BASE_PEER : null;
  if (single.length === 0) {
    // (only multi-worker workloads in this run: their ratios follow their table)
  } else if (base !== null) {
    const others = peers.filter((p) => p !== base);
    out.push(`## ${base} / peer (ratio of median iterations/s; above 1: ${base} is faster)`, "");
    out.push(row(["workload", ...others]));
    out.push(row(["---", ...others.map(() => "---:")]));
    for (const w of single) {
      const b = cellOf(report, w.name, base)?.opsPerSec ?? null;
      const cells = others.map((p) => {
        const c = cellOf(report, w.name, p);
        if (b === null || c === undefined || c.opsPerSec === null) return "n/a";
        return fmtRatio(b.median / c.opsPerSec.median) + (c.shortened ? " (vs shortened run)" : "");
      });
      out.push(row([w.name, ...cells]));
    }
    out.push("");
  } else {
    out.push(`(No ${BASE_PEER} row in this run, so no ratio table.)`, "");
  }

  if (report.footprint !== undefined) out.push(...renderFootprint(report.footprint));

  if (multi.length > 0) renderMulti(report, multi, out);

  const notes: string[] = [];
  const shortened = report.cells.filter((c) => c.shortened);
  if (shortened.length > 0) {
    notes.push(
      "Shortened rows (peer too slow for the full workload; their rate is for a smaller run, and a first-fit" +
        " allocator is faster on a smaller heap, so it flatters them): " +
        shortened.map((c) => `${c.peer} on ${c.workload}: ${shortenedNote(c, report)}`).join("; ") +
        ".",
    );
  }
  const emulated = report.peers.filter((p) => !p.reallocNative).map((p) => p.name);
  if (emulated.length > 0) {
    notes.push(`realloc emulated with malloc + copy + free for: ${emulated.join(", ")}.`);
  }
  for (const s of report.skipped) notes.push(`${s.peers.join(", ")}: ${s.reason}`);
  for (const c of report.cells) {
    for (const e of c.errors) notes.push(`error in ${c.peer} on ${c.workload}: ${errorLine(e)}`);
  }
  for (const warning of report.warnings) notes.push(`warning: ${warning}`);
  if (notes.length > 0) {
    out.push("## Notes", "");
    for (const n of notes) out.push(`- ${n}`);
    out.push("");
  }

  out.push("## Workloads", "");
  for (const w of report.workloads) out.push(`- **${w.name}** (${w.describe}): ${w.summary}; ${w.iterationUnit}.`);
  out.push("", "Definitions: bench/workloads/*.ts.", "");
  out.push("## Peers", "");
  for (const p of report.peers) {
    out.push(
      `- **${p.name}**: ${p.description}; realloc ${p.reallocNative ? "native" : "emulated"}; footprint: ${p.footprint ?? "n/a"}` +
        `${multi.length > 0 ? `; multi-worker: ${p.multi !== undefined ? p.multi.how : "takes no part"}` : ""}.`,
    );
  }
  out.push("");
  return out.join("\n");
}
