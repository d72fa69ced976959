/**
 * heap map — an SVG picture of a heap, for a person looking for fragmentation. Behind
 * {@link Heap.renderMap}.
 *
 * Basic design: a grid with one row per segment (several small segments share a row, a big one
 * takes several rows), one cell per page. A span is drawn as one box over its pages, so span
 * boundaries show as gaps:
 * - a free span: light grey;
 * - a small page: a pale tint of its class's colour, with a bar of the full colour whose height
 *   is the share of its blocks in use. Colours run from violet (8 B) through blue, green and
 *   yellow to red (256 KiB) by log2 of the block size, so neighbouring sizes look alike;
 * - a large block: hatched slate, over all its pages;
 * - an abandoned page (no owner, waiting to be adopted): a dashed outline;
 * - a span head the walk cannot make sense of (corrupt): magenta with a cross.
 * Every box carries a <title> (a tooltip in a browser) with its pages, class, fill and owner. A
 * title line gives the totals; a legend gives the colours of the classes present, the fill
 * shading, and the other kinds. Pure string building, no dependencies.
 *
 * Invariants: reads only, under the heap lock (the picture is drawn after it is released);
 * tolerates a corrupt heap (a bad span length ends the walk and is drawn as corrupt).
 */

import { H, Kind, PF, PG, Page } from "./layout.js";
import { unlock } from "./lock.js";
import type { Region } from "./region.js";
import { CLASS_SIZE, NUM_CLASSES, spanCapacity } from "./size_classes.js";
import { pageHandedOut } from "./pages.js";
import { cachedByPage } from "./thread_cache.js";
import { formatBytes, lockForWalk } from "./heap_check.js";

/** One span as the map draws it. */
interface Span {
  r: number;
  n: number;
  kind: "free" | "small" | "large" | "meta" | "bad";
  cls: number;
  live: number;
  capacity: number;
  owner: number;
  abandoned: boolean;
  full: boolean;
}

const FREE_FILL = "#e4e4e4";
const LARGE_FILL = "url(#hakmem-large)";
const BAD_FILL = "#ff00cc";
const META_FILL = "#8a8a8a";

const LOG2_MIN = Math.log2(CLASS_SIZE[0]!);
const LOG2_MAX = Math.log2(CLASS_SIZE[NUM_CLASSES - 1]!);

/** Hue of class `cls`: 270 (violet) for the smallest blocks down to 0 (red) for the largest. */
function hue(cls: number): number {
  const t = (Math.log2(CLASS_SIZE[cls]!) - LOG2_MIN) / (LOG2_MAX - LOG2_MIN);
  return Math.round(270 * (1 - t));
}
function strong(cls: number): string {
  return `hsl(${hue(cls)},70%,45%)`;
}
function pale(cls: number): string {
  return `hsl(${hue(cls)},55%,90%)`;
}

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function hex(n: number): string {
  return `0x${(n >>> 0).toString(16)}`;
}

/** Reads the spans (under the lock). */
function collect(rg: Region): { spans: Span[]; mapped: number; inUse: number; segCounts: number[] } {
  const spans: Span[] = [];
  const segCounts: number[] = [];
  let mapped = 0;
  let inUse = 0;
  const locked = lockForWalk(rg, () => {});
  try {
    const i32 = rg.i32;
    mapped = Math.max(0, Math.min(Atomics.load(i32, rg.hdr + H.MAPPED_PAGES), rg.maxPages, Math.floor(rg.u8.length / Page.SIZE) - rg.firstPage));
    inUse = i32[rg.hdr + H.PAGES_IN_USE]!;
    const abandoned = new Set<number>();
    for (let c = 0; c < NUM_CLASSES; c++) {
      let steps = 0;
      for (let e = i32[rg.abandonedWord + c]!; e !== 0 && steps <= mapped; e = i32[e + PG.NEXT]!, steps++) {
        if (!Number.isInteger(e) || e <= 0 || e >= i32.length || abandoned.has(e)) break;
        abandoned.add(e);
      }
    }
    const cached = cachedByPage(rg);
    const segShift = rg.segmentPageShift;
    const segs = Math.ceil(mapped / (1 << segShift));
    for (let s = 0; s < segs; s++) segCounts.push(0);
    for (let r = 0; r < mapped; ) {
      const e = rg.entryOfPage(r);
      const cls = i32[e + PG.CLASS]!;
      let n = i32[e + PG.PAGES]!;
      const span: Span = { r, n, kind: "bad", cls, live: 0, capacity: 0, owner: 0, abandoned: false, full: false };
      if (!(n >= 1 && r + n <= mapped)) {
        span.n = n = mapped - r; // the rest cannot be read
        spans.push(span);
        break;
      }
      if (cls === Kind.FREE) span.kind = "free";
      else if (cls === Kind.LARGE) span.kind = "large";
      else if (cls === Kind.META) span.kind = "meta";
      else if (cls >= 0 && cls < NUM_CLASSES) {
        span.kind = "small";
        span.capacity = spanCapacity(cls, n);
        span.live = Math.max(0, pageHandedOut(i32, e, cls) - (cached.get(e) ?? 0));
        span.owner = Atomics.load(i32, e + PG.OWNER);
        span.full = (i32[e + PG.FLAGS]! & PF.FULL) !== 0;
        span.abandoned = abandoned.has(e);
      }
      spans.push(span);
      r += n;
    }
  } finally {
    if (locked) unlock(rg.i32, rg.hdr + H.LOCK);
  }
  const segShift = rg.segmentPageShift;
  for (const s of spans) {
    if (s.kind === "free" || s.kind === "bad") continue;
    for (let p = s.r; p < s.r + s.n; p++) segCounts[p >>> segShift]!++;
  }
  return { spans, mapped, inUse, segCounts };
}

/** Renders the SVG map of the region. */
export function renderMap(rg: Region): string {
  const { spans, mapped, inUse, segCounts } = collect(rg);
  const segPages = 1 << rg.segmentPageShift;

  // Grid geometry: columns per row, segments per row or rows per segment.
  const cols = segPages > 64 ? 64 : segPages >= 16 ? segPages : segPages * Math.floor(32 / segPages);
  const rows = Math.max(1, Math.ceil(mapped / cols));
  const cell = mapped <= 4096 ? Math.max(12, Math.min(28, Math.floor(448 / cols))) : mapped <= 16384 ? 10 : 6;
  const labelW = 150;
  const rightW = 80;
  const gridW = cols * cell;

  // Totals.
  let liveBytes = 0;
  let liveBlocks = 0;
  const classPages = new Map<number, number>();
  const classLive = new Map<number, number>();
  let largeBlocks = 0;
  let largePages = 0;
  let abandonedPages = 0;
  let bad = 0;
  let freePages = 0;
  let metaPages = 0;
  for (const s of spans) {
    if (s.kind === "small") {
      liveBytes += s.live * CLASS_SIZE[s.cls]!;
      liveBlocks += s.live;
      classPages.set(s.cls, (classPages.get(s.cls) ?? 0) + 1);
      classLive.set(s.cls, (classLive.get(s.cls) ?? 0) + s.live);
      if (s.abandoned) abandonedPages++;
    } else if (s.kind === "large") {
      liveBytes += s.n * Page.SIZE;
      liveBlocks++;
      largeBlocks++;
      largePages += s.n;
    } else if (s.kind === "free") freePages += s.n;
    else if (s.kind === "meta") metaPages += s.n;
    else bad++;
  }

  const out: string[] = [];
  let y = 0;
  // Title: the totals on one line, the details below.
  const title1 = `hakmem heap: ${formatBytes(rg.metadataBytes + mapped * Page.SIZE)} mapped · ${inUse} of ${mapped} pages in use · ${formatBytes(liveBytes)} live in ${liveBlocks} blocks`;
  const title2 = `${mapped} pages of ${formatBytes(Page.SIZE)} in ${segCounts.length} segments of ${formatBytes(segPages * Page.SIZE)} (+ ${formatBytes(rg.metadataBytes)} header and directories, ${plural(metaPages, "page")} of page tables and thread slots); ` +
    `${freePages} pages free; ${classPages.size} size classes on ${[...classPages.values()].reduce((a, b) => a + b, 0)} small pages` +
    `${largeBlocks > 0 ? `; ${plural(largeBlocks, "large block")} on ${plural(largePages, "page")}` : ""}${abandonedPages > 0 ? `; ${plural(abandonedPages, "abandoned page")}` : ""}${bad > 0 ? `; ${bad} CORRUPT span(s): run check()` : ""}`;
  const width = Math.ceil(Math.max(720, labelW + gridW + rightW + 20, title1.length * 8.4 + 20, title2.length * 6.6 + 20));
  y += 24;
  out.push(`<text x="10" y="${y}" font-size="15" font-weight="bold">${esc(title1)}</text>`);
  y += 20;
  out.push(`<text x="10" y="${y}">${esc(title2)}</text>`);
  y += 16;

  // Legend: kinds, fill shading, then the classes present.
  const legend: string[] = [];
  let lx = 10;
  y += 12;
  const item = (w: number, draw: (x: number, yy: number) => string, label: string): void => {
    const textW = Math.ceil(6.6 * label.length) + 28;
    if (lx + textW > width - 10) {
      lx = 10;
      y += 22;
    }
    legend.push(draw(lx, y));
    legend.push(`<text x="${lx + w + 6}" y="${y + 12}">${esc(label)}</text>`);
    lx += textW + w - 14;
  };
  legend.push(`<text x="10" y="${y + 12}" font-weight="bold">Legend</text>`);
  lx = 70;
  item(14, (x, yy) => `<rect x="${x}" y="${yy}" width="14" height="14" fill="${FREE_FILL}"/>`, "free pages");
  item(14, (x, yy) => `<rect x="${x}" y="${yy}" width="14" height="14" fill="${LARGE_FILL}"/>`, "large block");
  item(14, (x, yy) => `<rect x="${x}" y="${yy}" width="14" height="14" fill="${META_FILL}"/>`, "metadata (page tables, thread slots)");
  item(14, (x, yy) => `<rect x="${x}" y="${yy}" width="14" height="14" fill="${pale(20)}" stroke="#000" stroke-width="1.5" stroke-dasharray="3 2"/>`, "abandoned page");
  if (bad > 0) item(14, (x, yy) => badBox(x, yy, 14, 14), "corrupt span");
  lx = 10;
  y += 24;
  legend.push(`<text x="10" y="${y + 12}" font-weight="bold">Fill</text>`);
  lx = 70;
  const demo = classPages.size > 0 ? Math.min(...classPages.keys()) : 3;
  for (const f of [0, 0.25, 0.5, 0.75, 1]) {
    item(14, (x, yy) => smallBox(x, yy, 14, 14, demo, f), `${f * 100}%`);
  }
  legend.push(`<text x="${lx + 4}" y="${y + 12}" fill="#555">of a small page's blocks in use (bar height)</text>`);
  lx = 10;
  y += 24;
  legend.push(`<text x="10" y="${y + 12}" font-weight="bold">Classes</text>`);
  lx = 70;
  if (classPages.size === 0) legend.push(`<text x="${lx}" y="${y + 12}" fill="#666">no small pages</text>`);
  for (const cls of [...classPages.keys()].sort((a, b) => a - b)) {
    const pages = classPages.get(cls)!;
    const live = classLive.get(cls)!;
    item(14, (x, yy) => `<rect x="${x}" y="${yy}" width="14" height="14" fill="${strong(cls)}"><title>class ${cls}: ${CLASS_SIZE[cls]}-byte blocks, ${pages} pages, ${live} blocks in use</title></rect>`,
      `${formatBytes(CLASS_SIZE[cls]!)} ×${pages}`);
  }
  out.push(`<g id="legend">`, ...legend, `</g>`);
  y += 34;

  // Grid.
  const gridTop = y;
  out.push(`<g font-size="11" fill="#333">`);
  const segRows = segPages > cols ? segPages / cols : 1;
  const segsPerRow = segPages < cols ? cols / segPages : 1;
  for (let row = 0; row < rows; row++) {
    const ry = gridTop + row * cell;
    const firstPage = row * cols;
    if (segPages >= cols) {
      if (row % segRows === 0) {
        const s = Math.floor(firstPage / segPages);
        out.push(`<text x="10" y="${ry + cell - 3}">seg ${s} ${hex((rg.firstPage + firstPage) * Page.SIZE)}</text>`);
        out.push(`<text x="${labelW + gridW + 8}" y="${ry + cell - 3}">${segCounts[s] ?? 0}/${Math.min(segPages, mapped - s * segPages)} used</text>`);
      }
    } else {
      const s0 = firstPage / segPages;
      const s1 = Math.min(segCounts.length, s0 + segsPerRow) - 1;
      out.push(`<text x="10" y="${ry + cell - 3}">seg ${s0}${s1 > s0 ? `–${s1}` : ""} ${hex((rg.firstPage + firstPage) * Page.SIZE)}</text>`);
      let used = 0;
      for (let s = s0; s <= s1; s++) used += segCounts[s] ?? 0;
      out.push(`<text x="${labelW + gridW + 8}" y="${ry + cell - 3}">${used}/${Math.min(cols, mapped - firstPage)} used</text>`);
    }
  }
  out.push(`</g>`);
  // Segment separators when several segments share a row.
  if (segPages > 1 && segPages < cols) {
    for (let k = segPages; k < cols; k += segPages) {
      const x = labelW + k * cell - 0.5;
      out.push(`<line x1="${x}" y1="${gridTop - 2}" x2="${x}" y2="${gridTop + rows * cell + 1}" stroke="#999" stroke-width="0.5"/>`);
    }
  }
  for (const s of spans) {
    const tip = esc(tooltip(rg, s));
    // Split the span into its pieces per row.
    for (let p = s.r; p < s.r + s.n; ) {
      const row = Math.floor(p / cols);
      const col = p % cols;
      const k = Math.min(s.r + s.n - p, cols - col);
      const x = labelW + col * cell;
      const yy = gridTop + row * cell;
      const w = k * cell - 1;
      const h = cell - 1;
      let box: string;
      if (s.kind === "free") box = `<rect x="${x}" y="${yy}" width="${w}" height="${h}" fill="${FREE_FILL}"/>`;
      else if (s.kind === "large") box = `<rect x="${x}" y="${yy}" width="${w}" height="${h}" fill="${LARGE_FILL}"/>`;
      else if (s.kind === "small") box = smallBox(x, yy, w, h, s.cls, s.capacity > 0 ? s.live / s.capacity : 0, s.abandoned);
      else if (s.kind === "meta") box = `<rect x="${x}" y="${yy}" width="${w}" height="${h}" fill="${META_FILL}"/>`;
      else box = badBox(x, yy, w, h);
      out.push(`<g><title>${tip}</title>${box}</g>`);
      p += k;
    }
  }
  y = gridTop + rows * cell + 24;
  out.push(`<text x="10" y="${y - 6}" font-size="11" fill="#666">One cell per ${formatBytes(Page.SIZE)} page; a box per span. Hover a box for its details.</text>`);

  const height = y;
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="system-ui, -apple-system, Segoe UI, Helvetica, Arial, sans-serif" font-size="12">\n` +
    `<defs><pattern id="hakmem-large" patternUnits="userSpaceOnUse" width="6" height="6" patternTransform="rotate(45)">` +
    `<rect width="6" height="6" fill="#4a5a66"/><line x1="0" y1="0" x2="0" y2="6" stroke="#9fb1bd" stroke-width="2"/></pattern></defs>\n` +
    `<rect width="${width}" height="${height}" fill="#fff"/>\n` +
    out.join("\n") +
    `\n</svg>\n`
  );
}

/** A small page's box: pale background, a bar of the class colour as high as its fill. */
function smallBox(x: number, y: number, w: number, h: number, cls: number, fill: number, abandoned = false): string {
  const f = Math.max(0, Math.min(1, fill));
  const bar = f * h;
  const outline = abandoned ? ` stroke="#000" stroke-width="1.5" stroke-dasharray="3 2"` : "";
  let s = `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${pale(cls)}"/>`;
  if (bar > 0) s += `<rect x="${x}" y="${round(y + h - bar)}" width="${w}" height="${round(bar)}" fill="${strong(cls)}"/>`;
  if (abandoned) s += `<rect x="${x + 0.75}" y="${y + 0.75}" width="${w - 1.5}" height="${h - 1.5}" fill="none"${outline}/>`;
  return s;
}

function badBox(x: number, y: number, w: number, h: number): string {
  return `<rect x="${x}" y="${y}" width="${w}" height="${h}" fill="${BAD_FILL}"/>` +
    `<path d="M${x} ${y}L${x + w} ${y + h}M${x + w} ${y}L${x} ${y + h}" stroke="#000" stroke-width="1"/>`;
}

function plural(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? "" : "s"}`;
}

function round(v: number): number {
  return Math.round(v * 10) / 10;
}

function tooltip(rg: Region, s: Span): string {
  const start = (rg.firstPage + s.r) * Page.SIZE;
  const pages = s.n === 1 ? `page ${s.r}` : `pages ${s.r}–${s.r + s.n - 1}`;
  const at = `${pages} (${hex(start)}, ${formatBytes(s.n * Page.SIZE)})`;
  switch (s.kind) {
    case "free":
      return `${at}: free`;
    case "large":
      return `${at}: large block of ${formatBytes(s.n * Page.SIZE)}`;
    case "small": {
      const pct = s.capacity > 0 ? Math.round((100 * s.live) / s.capacity) : 0;
      const owner = s.owner === 0 ? (s.abandoned ? "abandoned" : "no owner") : `owner thread ${s.owner}`;
      return `${at}: class ${s.cls}, ${CLASS_SIZE[s.cls]}-byte blocks, ${s.live}/${s.capacity} in use (${pct}%)${s.full ? ", full" : ""}, ${owner}`;
    }
    default:
      return `${at}: corrupt span head (PG.CLASS ${s.cls}, PG.PAGES ${s.n}); run check()`;
  }
}
