/**
 * stats — medians, ranges and the number formats used in the reports.
 */

import type { Summary } from "./model.js";

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new Error("summarize: no values");
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >>> 1;
  const median = s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
  return { median, min: s[0], max: s[s.length - 1] };
}

/** 12345678 → "12.3 M", 16234 → "16.2 k", 950 → "950". Three significant digits. */
export function fmtRate(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  const units: [number, string][] = [
    [1e9, " G"],
    [1e6, " M"],
    [1e3, " k"],
  ];
  for (const [scale, unit] of units) {
    if (Math.abs(v) >= scale) return `${sig3(v / scale)}${unit}`;
  }
  return sig3(v);
}

/** Bytes in binary units: "34.1 MiB". */
export function fmtBytes(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return "n/a";
  const units = ["B", "KiB", "MiB", "GiB"];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${sig3(v)} ${units[u]}`;
}

export function fmtRatio(v: number): string {
  if (!Number.isFinite(v)) return "n/a";
  return v >= 100 ? `${Math.round(v)}×` : `${sig3(v)}×`;
}

function sig3(v: number): string {
  const a = Math.abs(v);
  return a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2);
}

/** The most telling line of an error text: the first naming an error, else the first non-empty one. */
export function errorLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines.find((l) => /\b[A-Za-z]*Error\b/.test(l)) ?? lines[0] ?? "";
}
