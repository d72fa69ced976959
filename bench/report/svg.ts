/**
 * report/svg — latest.svg, written by hand (no dependencies): grouped bars, one group per
 * workload and one bar per peer, height = median iterations/s on a log-scale y axis, a whisker for
 * the min–max range, hatching on shortened runs, axis labels and a legend.
 */

import type { Report } from "../lib/model.js";
import { fmtRate } from "../lib/stats.js";
import { cellOf } from "./markdown.js";

/** Fixed colours per peer, so that charts of different runs read alike; others take the spare ones. */
const PEER_COLORS: Record<string, string> = {
  hakmem: "#d62728",
  "hakmem-nonshared": "#ff7f0e",
  "hakmem-checked": "#e377c2",
  reference: "#444444",
  gc: "#2ca02c",
  "thi.ng": "#8c564b",
  codemix: "#bcbd22",
  "as-tlsf": "#1f77b4",
  emmalloc: "#9467bd",
  dlmalloc: "#17becf",
  "native-glibc": "#a6a6a6",
  "native-mimalloc": "#393b79",
  "native-jemalloc": "#6b6ecf",
  "native-tcmalloc": "#9c9ede",
};
const SPARE_COLORS = ["#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd"];

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

/** 10^exp as "1", "10", "100", "1k", .., "100M", "1G". */
function decadeLabel(exp: number): string {
  const units = ["", "k", "M", "G", "T"];
  if (exp < 0) return `1e${exp}`;
  const u = Math.min(Math.floor(exp / 3), units.length - 1);
  return `${10 ** (exp - 3 * u)}${units[u]}`;
}

export function renderSvg(report: Report): string {
  const peers = report.peers.map((p) => p.name);
  let spare = 0;
  const color = new Map(peers.map((p) => [p, PEER_COLORS[p] ?? SPARE_COLORS[spare++ % SPARE_COLORS.length]]));
  const workloads = report.workloads.map((w) => w.name);

  const values: number[] = [];
  for (const c of report.cells) {
    if (c.opsPerSec !== null) values.push(c.opsPerSec.min, c.opsPerSec.max);
  }
  const positive = values.filter((v) => v > 0);
  let lo = positive.length > 0 ? Math.floor(Math.log10(Math.min(...positive))) : 0;
  let hi = positive.length > 0 ? Math.ceil(Math.log10(Math.max(...positive))) : 1;
  if (hi <= lo) hi = lo + 1;
  lo = Math.min(lo, hi - 1);

  const barW = 14;
  const groupGap = 30;
  const groupW = Math.max(Math.max(1, peers.length) * barW + groupGap, 130); // room for the label
  const left = 78;
  const top = 62;
  const plotH = 340;
  const plotW = Math.max(groupW * workloads.length, 300);
  const legendX = left + plotW + 24;
  const legendW = 190;
  const width = legendX + legendW;
  const height = top + plotH + 74;
  const y = (v: number): number => top + plotH - ((Math.log10(v) - lo) / (hi - lo)) * plotH;
  const baseY = top + plotH;

  const s: string[] = [];
  s.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="11">`);
  s.push(`<defs><pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="3" height="6" fill="#ffffff" fill-opacity="0.55"/></pattern></defs>`);
  s.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  const m = report.meta;
  s.push(`<text x="${left}" y="22" font-size="15" font-weight="bold">hakmem benchmarks${m.quick ? " (quick)" : ""}${m.cold ? " (cold: fresh instances)" : ""}: iterations/s, median with min–max (log scale)</text>`);
  s.push(`<text x="${left}" y="40" fill="#444">${esc(`commit ${m.commit} · Node ${m.node} · ${m.cpu} · ${m.cores} cores · ${m.runs} runs · ${m.date}`)}</text>`);

  // Axes and decade grid lines.
  for (let e = lo; e <= hi; e++) {
    const yy = y(10 ** e);
    s.push(`<line x1="${left}" y1="${yy.toFixed(1)}" x2="${left + plotW}" y2="${yy.toFixed(1)}" stroke="#dddddd"/>`);
    s.push(`<text x="${left - 6}" y="${(yy + 4).toFixed(1)}" text-anchor="end">${esc(decadeLabel(e))}</text>`);
  }
  s.push(`<line x1="${left}" y1="${top}" x2="${left}" y2="${baseY}" stroke="#000"/>`);
  s.push(`<line x1="${left}" y1="${baseY}" x2="${left + plotW}" y2="${baseY}" stroke="#000"/>`);
  s.push(`<text transform="translate(18 ${top + plotH / 2}) rotate(-90)" text-anchor="middle" font-size="12">iterations / s (log scale)</text>`);
  s.push(`<text x="${left + plotW / 2}" y="${baseY + 44}" text-anchor="middle" font-size="12">workload</text>`);

  let anyShortened = false;
  // A dashed line between the single-worker and the multi-worker workloads.
  const firstMulti = report.workloads.findIndex((w) => w.kind === "multi");
  if (firstMulti > 0) {
    const sx = left + firstMulti * groupW;
    s.push(`<line x1="${sx}" y1="${top}" x2="${sx}" y2="${baseY + 30}" stroke="#888" stroke-dasharray="4 3"/>`);
    s.push(`<text x="${sx + 4}" y="${top + 12}" fill="#555">multi-worker (summed over the workers) →</text>`);
  }
  workloads.forEach((w, gi) => {
    const gx = left + gi * groupW + (groupW - peers.length * barW) / 2;
    peers.forEach((p, pi) => {
      const c = cellOf(report, w, p);
      if (c === undefined || c.opsPerSec === null) return;
      const { median, min, max } = c.opsPerSec;
      const x = gx + pi * barW;
      const yTop = y(median);
      const fill = color.get(p) ?? "#000";
      const tip = `${p} on ${w}: ${fmtRate(median)} [${fmtRate(min)}–${fmtRate(max)}] iterations/s${c.shortened ? " (shortened run)" : ""}`;
      s.push(`<g><title>${esc(tip)}</title>`);
      s.push(`<rect x="${x + 1}" y="${yTop.toFixed(1)}" width="${barW - 2}" height="${(baseY - yTop).toFixed(1)}" fill="${fill}"/>`);
      if (c.shortened) {
        anyShortened = true;
        s.push(`<rect x="${x + 1}" y="${yTop.toFixed(1)}" width="${barW - 2}" height="${(baseY - yTop).toFixed(1)}" fill="url(#hatch)"/>`);
      }
      const cx = x + barW / 2;
      s.push(`<line x1="${cx}" y1="${y(max).toFixed(1)}" x2="${cx}" y2="${y(min).toFixed(1)}" stroke="#000"/>`);
      s.push(`<line x1="${cx - 3}" y1="${y(max).toFixed(1)}" x2="${cx + 3}" y2="${y(max).toFixed(1)}" stroke="#000"/>`);
      s.push(`<line x1="${cx - 3}" y1="${y(min).toFixed(1)}" x2="${cx + 3}" y2="${y(min).toFixed(1)}" stroke="#000"/>`);
      s.push(`</g>`);
    });
    s.push(`<text x="${gx + (peers.length * barW) / 2}" y="${baseY + 18}" text-anchor="middle">${esc(w)}</text>`);
  });

  // Legend.
  s.push(`<text x="${legendX}" y="${top + 4}" font-weight="bold">peer</text>`);
  peers.forEach((p, i) => {
    const ly = top + 16 + i * 18;
    s.push(`<rect x="${legendX}" y="${ly}" width="12" height="12" fill="${color.get(p) ?? "#000"}"/>`);
    s.push(`<text x="${legendX + 18}" y="${ly + 10}">${esc(p)}</text>`);
  });
  let ly = top + 16 + peers.length * 18 + 10;
  if (anyShortened) {
    s.push(`<rect x="${legendX}" y="${ly}" width="12" height="12" fill="#888"/><rect x="${legendX}" y="${ly}" width="12" height="12" fill="url(#hatch)"/>`);
    s.push(`<text x="${legendX + 18}" y="${ly + 10}">shortened run (smaller N)</text>`);
    ly += 18;
  }
  s.push(`<line x1="${legendX + 6}" y1="${ly}" x2="${legendX + 6}" y2="${ly + 12}" stroke="#000"/>`);
  s.push(`<text x="${legendX + 18}" y="${ly + 10}">min–max over runs</text>`);
  s.push(`</svg>`);
  return s.join("\n") + "\n";
}
