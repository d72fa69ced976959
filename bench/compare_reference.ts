/**
 * compare_reference — issue 2's question in one process: how far is hakmem from the speed of
 * light? hakmem (createHeap() with default options, as the suite's hakmem row) against the reference allocator
 * (peers/reference.ts) on random_mixed (workloads/random_mixed.ts: sizes 16–1024 B, seed 42) with
 * W = 4096 and W = 256, N = 2,000,000 iterations.
 *
 *   node --expose-gc build/bench/compare_reference.js [--runs R] [--n N] [--nonshared] [--help]
 *
 * --nonshared runs hakmem on createHeap({ shared: false }) (the suite's hakmem-nonshared) instead.
 *
 * Method (steady state, as the suite's child.ts): per W, one instance of each; two warm-up runs
 * of each on it, then R (default 5) timed runs of each on the same instances, alternating ABBA-style
 * (hakmem, reference, reference, hakmem, ...); prints the median and min–max iterations/s and
 * the ratio of the medians hakmem / reference. Every run frees all it allocated (the rings are
 * drained), so each starts from an instance holding nothing.
 *
 * Monomorphism: both allocators run in this one process, so they must not share a call site —
 * one loop calling `a.malloc` with two receiver classes would be polymorphic and slower for both.
 * The loop is therefore written out twice, `loopHakmem` and `loopReference`: keep the two copies
 * identical but for the allocator they call (the PRNG checksum each returns is compared).
 */

import { createHeap } from "../src/index.js";
import { intOption, parseCommandLine } from "./lib/args.js";
import { commitId, machine } from "./lib/env.js";
import { fmtRate, summarize } from "./lib/stats.js";
import { ReferenceAllocator } from "./peers/reference.js";
import { umod } from "./lib/rand.js";

type Heap = ReturnType<typeof createHeap>;

interface Timed {
  seconds: number;
  checksum: number;
}

const SEED = 42;
const MIN_SIZE = 16;
const SIZE_RANGE = 1009;

/** random_mixed over hakmem. W must be a power of two. Copy 1 of 2: keep identical to loopReference. */
function loopHakmem(heap: Heap, W: number, N: number): Timed {
  const ring = new Uint32Array(W);
  const mask = W - 1;
  let x = SEED;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const slot = x & mask;
    const old = ring[slot];
    if (old !== 0) heap.free(old);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = MIN_SIZE + umod(x, SIZE_RANGE);
    const p = heap.malloc(size);
    if (p === 0) throw new Error(`hakmem: malloc(${size}) returned 0 at iteration ${i}`);
    heap.u8[p] = i & 255;
    ring[slot] = p;
  }
  const seconds = (performance.now() - t0) / 1000;
  for (let s = 0; s < W; s++) if (ring[s] !== 0) heap.free(ring[s]);
  return { seconds, checksum: x >>> 0 };
}

/** random_mixed over the reference allocator. Copy 2 of 2: keep identical to loopHakmem. */
function loopReference(ref: ReferenceAllocator, W: number, N: number): Timed {
  const ring = new Uint32Array(W);
  const mask = W - 1;
  let x = SEED;
  const t0 = performance.now();
  for (let i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const slot = x & mask;
    const old = ring[slot];
    if (old !== 0) ref.free(old);
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = MIN_SIZE + umod(x, SIZE_RANGE);
    const p = ref.malloc(size);
    if (p === 0) throw new Error(`reference: malloc(${size}) returned 0 at iteration ${i}`);
    ref.u8[p] = i & 255;
    ring[slot] = p;
  }
  const seconds = (performance.now() - t0) / 1000;
  for (let s = 0; s < W; s++) if (ring[s] !== 0) ref.free(ring[s]);
  return { seconds, checksum: x >>> 0 };
}

const USAGE = `usage: node --expose-gc build/bench/compare_reference.js [options]
  --runs R       timed runs of each allocator per ring size (default 5)
  --n N          iterations per run (default 2,000,000)
  --nonshared    hakmem on createHeap({ shared: false }) instead of createHeap()
  --help         this text
`;

function parse(argv: string[]): { runs: number; n: number; shared: boolean } {
  const values = parseCommandLine(argv, { runs: { type: "string" }, n: { type: "string" }, nonshared: { type: "boolean" } }, USAGE);
  return { runs: intOption("runs", values.runs, 1, 5), n: intOption("n", values.n, 1, 2_000_000), shared: values.nonshared !== true };
}

function main(): void {
  const { runs, n, shared } = parse(process.argv.slice(2));
  const m = machine();
  const gc = (globalThis as { gc?: () => void }).gc;
  console.log(`compare_reference · commit ${commitId()} · Node ${m.node} · ${m.cpu} · ${m.cores} cores`);
  console.log(`hakmem: createHeap({ shared: ${shared} }); random_mixed, sizes ${MIN_SIZE}–${MIN_SIZE + SIZE_RANGE - 1} B, seed ${SEED}, N=${n.toLocaleString("en-US")}`);
  console.log(`${runs} runs each after 2 warm-ups, on one instance each (steady state), alternating ABBA, one process${gc === undefined ? " (run with --expose-gc to collect garbage between runs)" : ""}`);
  for (const W of [4096, 256]) {
    const heap = createHeap({ shared });
    const ref = new ReferenceAllocator();
    for (let k = 0; k < 2; k++) {
      const h = loopHakmem(heap, W, n);
      const r = loopReference(ref, W, n);
      if (h.checksum !== r.checksum) throw new Error("the two loop copies diverged (checksums differ)");
    }
    const rates = { hakmem: [] as number[], reference: [] as number[] };
    for (let k = 0; k < runs; k++) {
      const order = k % 2 === 0 ? ["hakmem", "reference"] : ["reference", "hakmem"];
      for (const who of order) {
        gc?.();
        const t = who === "hakmem" ? loopHakmem(heap, W, n) : loopReference(ref, W, n);
        (who === "hakmem" ? rates.hakmem : rates.reference).push(n / t.seconds);
      }
    }
    heap.dispose();
    const hs = summarize(rates.hakmem);
    const rs = summarize(rates.reference);
    const line = (name: string, s: typeof hs): string =>
      `  ${name.padEnd(10)} ${fmtRate(s.median).padStart(8)} it/s  [${fmtRate(s.min)}–${fmtRate(s.max)}]`;
    console.log(`W=${W}`);
    console.log(line("hakmem", hs));
    console.log(line("reference", rs));
    console.log(`  hakmem / reference = ${(hs.median / rs.median).toFixed(3)}  (ratio of medians)`);
  }
}

main();
