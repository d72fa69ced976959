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
 * - Eight workers at once (MULTI_CASES), each its own ring, seeded workers/protocol.ts seedFor
 *   (42, k, 0): random_mixed W = 4096 and W = 256 (N = 200,000 each) and mid W = 256 (N = 50,000
 *   each), the same with --quick. hakmem: one shared heap (createHeap, each worker attachHeap);
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

/** A ring every worker of a multi-worker case runs (sizes minSize + x mod sizeRange). */
interface RingCase {
  name: string;
  W: number;
  N: number;
  minSize: number;
  sizeRange: number;
}

const MULTI_WORKERS = 8;
const MULTI_SEED = 42;
const MULTI_CASES: readonly RingCase[] = [
  { name: "random_mixed W=4096", W: 4096, N: 200_000, minSize: 16, sizeRange: 1009 },
  { name: "random_mixed W=256", W: 256, N: 200_000, minSize: 16, sizeRange: 1009 },
  { name: "mid W=256", W: 256, N: 50_000, minSize: 8192, sizeRange: 45056 },
];

function describeCase(c: RingCase, seeds: string): string {
  return `W=${fmtInt(c.W)}, N=${fmtInt(c.N)}${seeds === "" ? "" : "/worker"}, ${fmtInt(c.minSize)}–${fmtInt(c.minSize + c.sizeRange - 1)} B, ${seeds || "seed 42"}`;
}

/** One worker, a fresh instance of a JS peer: the tracked ring once. */
function singleJs(peer: Peer, c: RingCase, seed: number): { peak: number; mapped: number | null; live: number } {
  const a = peer.create!();
  let mapped: number | null = null;
  const out = runTrackedRing(a, c.W, c.N, seed, c.minSize, c.sizeRange, () => {
    mapped = a.mappedBytes?.() ?? null;
  });
  const peak = a.peakFootprint();
  a.dispose();
  return { peak, mapped, live: out.peakLiveBytes };
}

/** Eight workers at once on one shared instance ("shared") or a private instance each ("single"). */
async function multiJs(peer: Peer, entry: PeerEntry, c: RingCase): Promise<{ peak: number; mapped: number | null; live: number }> {
  const mode = peer.multi!.mode;
  const instance = mode === "shared" ? peer.multi!.createShared!() : null;
  try {
    return await withTeam(MULTI_WORKERS, async (team) => {
      for (let k = 0; k < MULTI_WORKERS; k++) {
        const data: FootprintWorkerData = {
          entry,
          mode,
          handle: instance?.handle ?? null,
          warmHandle: null,
          ctl: team.ctlBuffer,
          index: k,
          last: true,
          W: c.W,
          N: c.N,
          minSize: c.minSize,
          sizeRange: c.sizeRange,
          seed: seedFor(MULTI_SEED, k, 0),
        };
        team.start(k, { script: workerScript("footprint_worker.js"), data });
      }
      await team.go();
      const { results } = await team.finish(MULTI_WORKERS, [...Array(MULTI_WORKERS).keys()]);
      const live = results.reduce((s, r) => s + (r.peakLiveBytes ?? NaN), 0);
      if (instance !== null) {
        const left = instance.liveBlocks();
        if (left !== 0) throw new Error(`${c.name}: ${left} blocks still in use after every worker freed its ring`);
        return { peak: instance.peakFootprint(), mapped: instance.mappedBytes?.() ?? null, live };
      }
      return { peak: results.reduce((s, r) => s + (r.footprintBytes ?? NaN), 0), mapped: null, live };
    });
  } finally {
    instance?.dispose();
  }
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
  const peers = await loadPeers(entries, prepared, notes);
  const fail = (who: string, what: string, err: unknown): void => {
    notes.push(`${who} on ${what}: error: ${errorLine(err instanceof Error ? (err.stack ?? err.message) : String(err))}`);
  };

  for (const { peer } of peers) {
    if (peer.create === undefined) continue;
    const a = peer.create();
    const mapped = a.mappedBytes?.();
    a.dispose();
    if (mapped !== undefined) fresh.push({ peer: peer.name, mappedBytes: mapped });
  }

  for (const name of SINGLE_CASES) {
    const w = findWorkload(name);
    const base = quick ? w.quickParams : w.params;
    for (const { peer } of peers) {
      if (peer.footprint === null) continue;
      const cap = peer.iterationCap?.(w.name, quick);
      const params = cap !== undefined && cap < param(base, "N") ? withParam(base, "N", cap) : base;
      const c: RingCase = { name: `${name} W=${param(params, "W")}`, W: param(params, "W"), N: param(params, "N"), minSize: param(params, "minSize"), sizeRange: param(params, "sizeRange") };
      const seed = param(params, "seed");
      try {
        let peak: number;
        let mapped: number | null = null;
        let live: number;
        let measuredAs = peer.footprint;
        if (peer.external !== undefined) {
          const f = await peer.external.footprint(c.W, c.N, c.minSize, c.sizeRange, [seed]);
          [peak, live, measuredAs] = [f.footprintBytes, f.peakLiveBytes[0]!, f.how];
        } else {
          ({ peak, mapped, live } = singleJs(peer, c, seed));
        }
        rows.push({
          case: c.name, describe: w.describe(params), workers: 1, peer: peer.name,
          peakBytes: Number.isFinite(peak) ? peak : null, mappedBytes: mapped, peakLiveBytes: live, measuredAs,
          shortenedTo: params === base ? null : c.N,
        });
      } catch (err) {
        fail(peer.name, c.name, err);
      }
    }
  }

  for (const c of MULTI_CASES) {
    for (const { entry, peer } of peers) {
      if (peer.footprint === null) continue;
      const mode = peer.multi?.mode;
      if (peer.external === undefined && mode !== "shared" && mode !== "single") continue;
      const seeds = Array.from({ length: MULTI_WORKERS }, (_, k) => seedFor(MULTI_SEED, k, 0));
      try {
        let peak: number;
        let mapped: number | null = null;
        let live: number;
        let measuredAs: string;
        if (peer.external !== undefined) {
          const f = await peer.external.footprint(c.W, c.N, c.minSize, c.sizeRange, seeds);
          [peak, live, measuredAs] = [f.footprintBytes, f.peakLiveBytes.reduce((s, v) => s + v, 0), `${f.how}, ${MULTI_WORKERS} threads`];
        } else {
          ({ peak, mapped, live } = await multiJs(peer, entry, c));
          measuredAs = mode === "shared" ? `${peer.footprint}, one shared heap` : `${peer.footprint}, a private instance per worker, summed`;
        }
        rows.push({
          case: `${MULTI_WORKERS} × ${c.name}`, describe: describeCase(c, `seeds seedFor(42, k, 0)`), workers: MULTI_WORKERS, peer: peer.name,
          peakBytes: Number.isFinite(peak) ? peak : null, mappedBytes: mapped, peakLiveBytes: live, measuredAs, shortenedTo: null,
        });
      } catch (err) {
        fail(peer.name, `${MULTI_WORKERS} × ${c.name}`, err);
      }
    }
  }

  const noMeasure = peers.filter(({ peer }) => peer.footprint === null).map(({ peer }) => peer.name);
  if (noMeasure.length > 0) notes.push(`${noMeasure.join(", ")}: no footprint measure (a GC heap is not attributable to one workload)`);
  const noMulti = peers
    .filter(({ peer }) => peer.footprint !== null && peer.external === undefined && peer.multi?.mode !== "shared" && peer.multi?.mode !== "single")
    .map(({ peer }) => peer.name);
  if (noMulti.length > 0) notes.push(`${noMulti.join(", ")}: not in the ${MULTI_WORKERS}-worker cases (neither shareable nor run per worker)`);
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
