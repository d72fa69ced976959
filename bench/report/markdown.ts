/**
 * report/markdown — latest.md: the run's provenance, throughput per workload × peer (median and
 * min–max of iterations/s), the ratio hakmem / each peer, the memory table, notes, definitions.
 */

import type { Cell, Report } from "../lib/model.js";
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

export function renderMarkdown(report: Report): string {
  const { meta } = report;
  const peers = report.peers.map((p) => p.name);
  const out: string[] = [];
  out.push(`# hakmem benchmarks${meta.quick ? " (quick)" : ""}`, "");
  out.push(`- commit: \`${meta.commit}\` (digest of the compiled code it ran: \`${meta.build}\`)`);
  out.push(
    `- machine: ${meta.cpu}, ${meta.cores} cores, ${meta.platform}; Node ${meta.node} (V8 ${meta.v8}); ` +
      `load average ${meta.load} at the start${meta.load > 0.5 ? " (other processes were competing: expect noise)" : ""}`,
  );
  out.push(`- date: ${meta.date}`);
  out.push(
    `- method: ${meta.quick ? "**quick** (shorter workloads), " : ""}${meta.runs} timed run${meta.runs === 1 ? "" : "s"} per (workload, peer), each in its own` +
      ` process after ${meta.warmup} warm-up run(s) at 1/4 length; processes interleaved round-robin over the peers` +
      " (peer order rotated each repetition); figures are iterations/s, median [min–max] over the runs",
  );
  out.push(`- command: \`${meta.command}\``, "");

  out.push("## Throughput (iterations/s, median [min–max])", "");
  out.push(row(["workload", "parameters", ...peers]));
  out.push(row(["---", "---", ...peers.map(() => "---:")]));
  for (const w of report.workloads) {
    const cells = peers.map((p) => throughputCell(cellOf(report, w.name, p), report));
    out.push(row([w.name, w.describe, ...cells]));
  }
  out.push("");

  const base = peers.includes(BASE_PEER) ? BASE_PEER : null;
  if (base !== null) {
    const others = peers.filter((p) => p !== base);
    out.push(`## ${base} / peer (ratio of median iterations/s; above 1: ${base} is faster)`, "");
    out.push(row(["workload", ...others]));
    out.push(row(["---", ...others.map(() => "---:")]));
    for (const w of report.workloads) {
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

  const memoryCells = peers
    .map((p) => cellOf(report, "memory", p))
    .filter((c): c is Cell => c !== undefined && c.runs.length > 0);
  if (memoryCells.length > 0) {
    out.push("## Memory (workload `memory`: peak footprint / peak live requested bytes)", "");
    out.push(row(["peer", "peak footprint", "peak live", "footprint / live", "footprint measured as"]));
    out.push(row(["---", "---:", "---:", "---:", "---"]));
    for (const c of memoryCells) {
      const info = report.peers.find((p) => p.name === c.peer);
      const fp = c.peakFootprintBytes;
      const live = c.peakLiveBytes;
      const ratio = fp !== null && live !== null && live > 0 ? fmtRatio(fp / live) : "n/a";
      const note = c.shortened ? ` · ${shortenedNote(c, report)}` : "";
      out.push(row([c.peer, fmtBytes(fp), fmtBytes(live), ratio + note, info?.footprint ?? "n/a"]));
    }
    out.push("");
  }

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
    out.push(`- **${p.name}**: ${p.description}; realloc ${p.reallocNative ? "native" : "emulated"}; footprint: ${p.footprint ?? "n/a"}.`);
  }
  out.push("");
  return out.join("\n");
}
