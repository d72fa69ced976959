/**
 * footprint — how much memory each allocator takes for what the program keeps live: untimed runs
 * of the ring loop with live-byte bookkeeping (workloads/memory.ts runTrackedRing), each on a
 * fresh instance, one worker and eight. run.ts runs this once after the timed runs; it also runs
 * on its own:
 *
 *   node build/bench/footprint.js [--peers a,b] [--quick] [--prepared] [--json]
 *
 * Cases:
 * - One worker: the loops of random_mixed_w256 (W = 256), random_mixed (W = 4096), memory
 *   (W = 65,536) and mid (W = 256, 8–52 KiB), with those workloads' parameters (--quick: their
 *   quick ones) and the peer's iteration cap (thi.ng, codemix: "shortened", with the N run).
 * - Eight workers at once (MULTI_CASES), each its own ring, seeded workers/protocol.ts
 *   seedFor(42, k, 0): random_mixed W = 4096 and W = 256 (N = 200,000 each) and mid W = 256
 *   (N = 50,000 each); half of that with --quick. hakmem: one shared heap (createHeap, each worker attachHeap);
 *   peers of "single" mode (the reference): a private instance per worker, footprints summed;
 *   native peers: eight threads of ring.c in one process. Others cannot take part (noted).
 * - What a fresh instance maps before its first malloc (peers that report mapped bytes: hakmem's
 *   createHeap() with default options).
 * Figures per row: the peer's peak footprint over the run (each peer's own measure, named in the
 * row: hakmem stats().peakHeapBytes, the high-water mark of pages in use), for hakmem also
 * stats().mappedBytes at the end of the loop (metadata plus every page the buffer backs, used or
 * cached; it never shrinks during a run), and the peak live requested bytes — for several workers
 * the SUM of each worker's own peak (each keeps its live bytes and their peak). The ratio
 * footprint / live is what issue 11's targets are read from; 1.0 would be no overhead at all.
 *
 * Output: the Markdown table on stdout, or with --json one line `@@BENCH-FOOTPRINT {json}`
 * (lib/model.ts FootprintReport). --prepared: the peers' artifacts are built already (run.ts
 * built them), so `prepare` is not called again.
 */

import { listOption, parseCommandLine } from "./lib/args.js";
import { TMP_DIR } from "./lib/env.js";
import { FOOTPRINT_PREFIX, type FootprintReport, type FootprintRow } from "./lib/model.js";
import { errorLine } from "./lib/stats.js";
import { PEERS, importPeer, peerEntry, type PeerEntry } from "./peers/index.js";
import { PeerSkipped, type Peer } from "./peers/types.js";
import { renderFootprint } from "./report/markdown.js";
import type { FootprintWorkerData } from "./workers/footprint_worker.js";
import { seedFor } from "./workers/protocol.js";
import { runTrackedRing } from "./workloads/memory.js";
import { withTeam, workerScript } from "./workloads/multi.js";
import { workload as findWorkload } from "./workloads/index.js";
import { fmtInt, param, withParam } from "./workloads/types.js";

const USAGE = `usage: node build/bench/footprint.js [options]
  --peers a,b   peers to measure (default all but opt-in ones): ${PEERS.map((p) => p.name).join(", ")}
  --quick       the one-worker cases with the workloads' quick parameters
  --prepared    the peers' artifacts are built (run.ts did): do not prepare them again
  --json        print one line @@BENCH-FOOTPRINT {json} instead of the Markdown table
  --help        this text
`;

/** The one-worker cases: the loops of these workloads (their W, N, seed, sizes). */
const SINGLE_CASES = ["random_mixed_w256", "random_mixed", "memory", "mid"] as const;

/** A ring loop of a footprint case (sizes minSize + x mod sizeRange). */
interface RingCase {
  W: number;
  N: number;
  minSize: number;
  sizeRange: number;
}

const MULTI_WORKERS = 8;
const MULTI_SEEDS = Array.from({ length: MULTI_WORKERS }, (_, k) => seedFor(42, k, 0));
/** The eight-worker rings; --quick runs half their iterations. */
const MULTI_CASES: readonly (RingCase & { name: string })[] = [
  { name: "random_mixed W=4096", W: 4096, N: 200_000, minSize: 16, sizeRange: 1009 },
  { name: "random_mixed W=256", W: 256, N: 200_000, minSize: 16, sizeRange: 1009 },
  { name: "mid W=256", W: 256, N: 50_000, minSize: 8192, sizeRange: 45056 },
];

/** What one case measured for one peer. */
interface Measure {
  peak: number;
  mapped: number | null;
  /** Peak live requested bytes, summed over the workers. */
  live: number;
  how: string;
}

/** One worker, a fresh instance of a JS peer: the tracked ring once. */
function oneJsWorker(peer: Peer, c: RingCase, seed: number): Measure {
  const a = peer.create!();
  let mapped: number | null = null;
  const out = runTrackedRing(a, c.W, c.N, seed, c.minSize, c.sizeRange, () => {
    mapped = a.mappedBytes?.() ?? null; // at the end of the loop (mapped never shrinks during it)
  });
  const peak = a.peakFootprint();
  a.dispose();
  return { peak, mapped, live: out.peakLiveBytes, how: peer.footprint! };
}

/** MULTI_WORKERS workers at once on one shared instance ("shared") or a private instance each ("single"). */
async function jsWorkers(peer: Peer, entry: PeerEntry, c: RingCase): Promise<Measure> {
  const mode = peer.multi!.mode;
  const instance = mode === "shared" ? peer.multi!.createShared!() : null;
  try {
    return await withTeam(MULTI_WORKERS, async (team) => {
      MULTI_SEEDS.forEach((seed, k) => {
        const data: FootprintWorkerData = {
          entry, mode, handle: instance?.handle ?? null, warmHandle: null, ctl: team.ctlBuffer, index: k, last: true, ...c, seed,
        };
        team.start(k, { script: workerScript("footprint_worker.js"), data });
      });
      await team.go();
      const { results } = await team.finish(MULTI_WORKERS, [...MULTI_SEEDS.keys()]);
      const live = results.reduce((s, r) => s + (r.peakLiveBytes ?? NaN), 0);
      if (instance === null) {
        const peak = results.reduce((s, r) => s + (r.footprintBytes ?? NaN), 0);
        return { peak, mapped: null, live, how: `${peer.footprint}, a private instance per worker, summed` };
      }
      const left = instance.liveBlocks();
      if (left !== 0) throw new Error(`${left} blocks still in use after every worker freed its ring`);
      return { peak: instance.peakFootprint(), mapped: instance.mappedBytes?.() ?? null, live, how: `${peer.footprint}, one shared heap` };
    });
  } finally {
    instance?.dispose();
  }
}

/** Runs case `c` for `peer` with one worker per seed; null when the peer cannot run it. */
async function measure(peer: Peer, entry: PeerEntry, c: RingCase, seeds: readonly number[]): Promise<Measure | null> {
  if (peer.external !== undefined) {
    const f = await peer.external.footprint(c.W, c.N, c.minSize, c.sizeRange, seeds);
    const how = seeds.length > 1 ? `${f.how}, ${seeds.length} threads` : f.how;
    return { peak: f.footprintBytes, mapped: null, live: f.peakLiveBytes.reduce((s, v) => s + v, 0), how };
  }
  if (seeds.length === 1) return oneJsWorker(peer, c, seeds[0]!);
  return canRunWorkers(peer) ? jsWorkers(peer, entry, c) : null;
}

/** A JS peer that can run the multi-worker cases: shareable, or one private instance per worker. */
function canRunWorkers(peer: Peer): boolean {
  return peer.multi?.mode === "shared" || peer.multi?.mode === "single";
}

/** Loads the peers (preparing them unless `prepared`); the ones that cannot run are noted. */
async function loadPeers(entries: readonly PeerEntry[], prepared: boolean, notes: string[]): Promise<{ entry: PeerEntry; peer: Peer }[]> {
  const out: { entry: PeerEntry; peer: Peer }[] = [];
  for (const entry of entries) {
    try {
      const mod = await importPeer(entry);
      if (!prepared) await mod.prepare?.(entry.variant, TMP_DIR);
      out.push({ entry, peer: await mod.load(entry.variant, TMP_DIR) });
    } catch (err) {
      notes.push(`${entry.name}: ${err instanceof PeerSkipped ? err.message : `failed to load: ${errorLine(String(err))}`}`);
    }
  }
  return out;
}

/** Runs every case for every peer that has a measure; see the header. */
async function measureFootprint(entries: readonly PeerEntry[], quick: boolean, prepared: boolean): Promise<FootprintReport> {
  const notes: string[] = [];
  const rows: FootprintRow[] = [];
  const fresh: FootprintReport["fresh"] = [];
  const loaded = await loadPeers(entries, prepared, notes);
  const peers = loaded.filter(({ peer }) => peer.footprint !== null);

  for (const { peer } of peers) {
    if (peer.create === undefined) continue;
    const a = peer.create();
    const mapped = a.mappedBytes?.();
    a.dispose();
    if (mapped !== undefined) fresh.push({ peer: peer.name, mappedBytes: mapped });
  }

  const run = async (
    entry: PeerEntry, peer: Peer, name: string, describe: string, c: RingCase, seeds: readonly number[], shortenedTo: number | null,
  ): Promise<void> => {
    try {
      const m = await measure(peer, entry, c, seeds);
      if (m === null) return;
      rows.push({
        case: name, describe, workers: seeds.length, peer: peer.name, peakBytes: Number.isFinite(m.peak) ? m.peak : null,
        mappedBytes: m.mapped, peakLiveBytes: m.live, measuredAs: m.how, shortenedTo,
      });
    } catch (err) {
      notes.push(`${peer.name} on ${name}: error: ${errorLine(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
    }
  };
  for (const name of SINGLE_CASES) {
    const w = findWorkload(name);
    const base = quick ? w.quickParams : w.params;
    for (const { entry, peer } of peers) {
      const cap = peer.iterationCap?.(w.name, quick);
      const p = cap !== undefined && cap < param(base, "N") ? withParam(base, "N", cap) : base;
      const c: RingCase = { W: param(p, "W"), N: param(p, "N"), minSize: param(p, "minSize"), sizeRange: param(p, "sizeRange") };
      await run(entry, peer, name, w.describe(p), c, [param(p, "seed")], p === base ? null : c.N);
    }
  }
  for (const full of MULTI_CASES) {
    const c = quick ? { ...full, N: full.N / 2 } : full;
    const describe =
      `W=${fmtInt(c.W)}, N=${fmtInt(c.N)}/worker, ${fmtInt(c.minSize)}–${fmtInt(c.minSize + c.sizeRange - 1)} B, ` +
      `seeds seedFor(42, k, 0), k = 0..${MULTI_WORKERS - 1}`;
    for (const { entry, peer } of peers) await run(entry, peer, `${MULTI_WORKERS} × ${c.name}`, describe, c, MULTI_SEEDS, null);
  }

  const noMeasure = loaded.filter(({ peer }) => peer.footprint === null).map(({ peer }) => peer.name);
  if (noMeasure.length > 0) notes.push(`${noMeasure.join(", ")}: no footprint measure (a GC heap is not attributable to one workload)`);
  const noWorkers = peers.filter(({ peer }) => peer.external === undefined && !canRunWorkers(peer)).map(({ peer }) => peer.name);
  if (noWorkers.length > 0) notes.push(`${noWorkers.join(", ")}: not in the ${MULTI_WORKERS}-worker cases (neither shareable nor run per worker)`);
  return { fresh, rows, notes };
}

async function main(): Promise<void> {
  const values = parseCommandLine(
    process.argv.slice(2),
    { peers: { type: "string" }, quick: { type: "boolean" }, prepared: { type: "boolean" }, json: { type: "boolean" } },
    USAGE,
  );
  const names = listOption(values.peers);
  const entries = names === undefined ? PEERS.filter((p) => p.optIn === undefined) : names.map(peerEntry);
  const report = await measureFootprint(entries, values.quick === true, values.prepared === true);
  if (values.json === true) process.stdout.write(`${FOOTPRINT_PREFIX}${JSON.stringify(report)}\n`);
  else process.stdout.write(renderFootprint(report).join("\n"));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
