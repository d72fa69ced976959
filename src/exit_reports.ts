/**
 * exit reports — the statistics table and the leak report printed when the process exits
 * (HAKMEM_STATS=1, HAKMEM_LEAKS=1, or the statsAtExit / leaksAtExit options).
 *
 * The seed allocator lost its statistics when threads ended; here the figures are counted from
 * the shared heap itself at exit, so they include every worker's blocks. Reports go to stderr
 * through console.error, from the worker that created the heap, on Node's `exit` event (a
 * runtime without `process.on` prints nothing).
 */

import type { Heap } from "./heap.js";
import type { HeapStats } from "./stats.js";

/** The statistics as a table a person reads. */
export function formatStats(s: HeapStats): string {
  const mib = (b: number): string => `${(b / 1048576).toFixed(2)} MiB`;
  const rows = [
    ["live blocks", `${s.liveBlocks}`],
    ["live bytes", `${s.liveBytes} (${mib(s.liveBytes)})`],
    ["heap bytes (pages in use)", `${mib(s.heapBytes)}, peak ${mib(s.peakHeapBytes)}`],
    ["mapped bytes", `${mib(s.mappedBytes)} (metadata ${mib(s.metadataBytes)})`],
    ["segments", `${s.segmentsInUse} in use, ${s.segmentsCached} cached, ${mib(s.segmentBytes)} each`],
    ["growths", `${s.growths}`],
    ["large blocks", `${s.largeBlocks} (${mib(s.largeBytes)})`],
    ["thread caches", `${s.cachedBlocks} free blocks (${mib(s.cachedBytes)}) in ${s.threads.length} workers' caches, at most ${mib(s.cacheLimitBytes)} each`],
  ];
  const lines = ["hakmem statistics", ...rows.map(([k, v]) => `  ${k!.padEnd(26)} ${v}`)];
  if (s.threads.length > 0) {
    lines.push("  worker    pages      current    free in pages  cached");
    for (const t of s.threads) {
      lines.push(`  ${String(t.threadId).padStart(6)} ${mib(t.pageBytes).padStart(12)} ${mib(t.currentPageBytes).padStart(12)} ${mib(t.freeBytes).padStart(14)} ${mib(t.cachedBytes).padStart(12)}`);
    }
  }
  if (s.classes.length > 0) {
    lines.push("  class      live blocks     pages   capacity   fill");
    for (const c of s.classes) {
      const fill = c.capacity === 0 ? 0 : (100 * c.liveBlocks) / c.capacity;
      lines.push(`  ${String(c.size).padStart(6)} B ${String(c.liveBlocks).padStart(13)} ${String(c.pages).padStart(9)} ${String(c.capacity).padStart(10)} ${fill.toFixed(1).padStart(5)} %`);
    }
  }
  return lines.join("\n");
}

/** The live blocks of `heap`, grouped by size, largest total first. */
export function formatLeaks(heap: Heap): string {
  const bySize = new Map<number, { count: number; examples: number[] }>();
  heap.walk((b) => {
    const g = bySize.get(b.size) ?? { count: 0, examples: [] };
    g.count++;
    if (g.examples.length < 4) g.examples.push(b.ptr);
    bySize.set(b.size, g);
  });
  if (bySize.size === 0) return "hakmem leaks: no live blocks";
  const groups = [...bySize].sort((a, b) => b[0] * b[1].count - a[0] * a[1].count);
  let total = 0;
  let bytes = 0;
  const lines = groups.map(([size, g]) => {
    total += g.count;
    bytes += size * g.count;
    const ex = g.examples.map((p) => `0x${p.toString(16)}`).join(", ");
    return `  ${String(g.count).padStart(8)} x ${String(size).padStart(8)} B = ${String(size * g.count).padStart(10)} B   e.g. ${ex}`;
  });
  return [`hakmem leaks: ${total} live blocks, ${bytes} bytes`, ...lines].join("\n");
}

/** Prints the requested reports for `heap` when the process exits. */
export function installExitReports(heap: Heap, stats: boolean, leaks: boolean): void {
  const p = (globalThis as { process?: { on?: (event: string, fn: () => void) => void } }).process;
  if (typeof p?.on !== "function") return;
  p.on("exit", () => {
    try {
      if (stats) console.error(formatStats(heap.stats()));
      if (leaks) console.error(formatLeaks(heap));
    } catch (err) {
      console.error(`hakmem: exit report failed: ${(err as Error).message}`);
    }
  });
}
