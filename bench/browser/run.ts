/**
 * run — the browser benchmark (`npm run bench:browser`): random_mixed (W = 4096, N = 2,000,000,
 * 16–1024 B, seed 42: the Node benchmark's row) in module Web Workers of one cross-origin
 * isolated page in headless Chromium, for hakmem with the fast pattern, hakmem reading `heap.u8`
 * at every write, and the speed-of-light reference free list (worker.ts says what each runs).
 *
 * Method: each timed run in a fresh worker after two warm-up runs at 1/4 length; runs interleaved
 * (each repetition runs every peer once, the order rotated), so that a drifting machine hurts all
 * alike; reported: median and min–max of iterations/s, and hakmem's ratios of medians. The checksum
 * (final PRNG state) must agree between peers. Writes bench/results/browser.md and browser.json.
 *
 * Options: --runs R (default 7), --n N (iterations, default 2,000,000).
 */

import { writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import { chromiumMissing, collectPageErrors, launchChromium } from "../../browser/chromium.js";
import { startServer } from "../../browser/server.js";
import { commitId, machine, REPO_ROOT, RESULTS_DIR } from "../lib/env.js";
import { fmtRate, fmtRatio, summarize } from "../lib/stats.js";
import type { BrowserRun } from "./worker.js";

const PEERS = ["hakmem", "hakmem-u8", "reference"] as const;

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: "string", default: "7" }, n: { type: "string", default: "2000000" } } });
  const runs = Number(values.runs);
  const N = Number(values.n);
  const missing = chromiumMissing();
  if (missing !== undefined) {
    console.log(`browser benchmark skipped: ${missing}`);
    return;
  }
  const server = await startServer(REPO_ROOT);
  const chromium = await launchChromium();
  const page = await chromium.context.newPage();
  const errors = collectPageErrors(page);
  const rates: Record<string, number[]> = Object.fromEntries(PEERS.map((p) => [p, []]));
  const checksums = new Set<number>();
  const started = Date.now();
  const load = machine().load;
  let browserVersion = "";
  try {
    await page.goto(server.url("coi", "bench/browser/index.html"));
    await page.waitForFunction(() => "hakmemBench" in window);
    browserVersion = chromium.context.browser()?.version() ?? (await page.evaluate(() => navigator.userAgent));
    for (let r = 0; r < runs; r++) {
      for (let k = 0; k < PEERS.length; k++) {
        const peer = PEERS[(k + r) % PEERS.length]!;
        const params: BrowserRun = { peer, W: 4096, N, seed: 42, minSize: 16, sizeRange: 1009 };
        const out = await page.evaluate(
          (p) => (window as unknown as { hakmemBench: { run(p: BrowserRun): Promise<{ iterations: number; seconds: number; checksum: number }> } }).hakmemBench.run(p),
          params,
        );
        rates[peer]!.push(out.iterations / out.seconds);
        checksums.add(out.checksum);
        process.stderr.write(`run ${r + 1}/${runs} ${peer}: ${fmtRate(out.iterations / out.seconds)} iterations/s\n`);
      }
    }
  } finally {
    await chromium.close();
    await server.close();
  }
  if (errors.length > 0) throw new Error(`the page logged errors: ${errors.join("; ")}`);
  if (checksums.size !== 1) throw new Error(`the peers ran different sequences (checksums ${[...checksums].join(", ")})`);

  const s = Object.fromEntries(PEERS.map((p) => [p, summarize(rates[p]!)]));
  const paired = (a: string, b: string): number => summarize(rates[a]!.map((v, r) => v / rates[b]![r]!)).median;
  const m = machine();
  const lines = [
    "# Browser benchmark: random_mixed in a Chromium module worker",
    "",
    `- commit: \`${commitId()}\`; ${browserVersion} (headless, /usr/bin/chromium); ${m.cpu}, ${m.cores} cores; load average ${load} at the start, ${m.load} at the end`,
    `- date: ${new Date().toISOString()} (the run took ${Math.round((Date.now() - started) / 1000)} s); command: \`node build/bench/browser/run.js --runs ${runs} --n ${N}\``,
    `- workload: random_mixed, W=4,096, N=${N.toLocaleString("en-US")}, 16–1,024 B, seed 42 (bench/workloads/random_mixed.ts); each run in a fresh worker after 2 warm-up runs at N/4; ${runs} runs per peer, interleaved, order rotated`,
    "",
    "| peer | what | iterations/s, median [min–max] |",
    "| --- | --- | ---: |",
    `| hakmem | createHeap(); the byte view cached, re-read from heap.u8 when an offset lies past it | ${fmtRate(s.hakmem!.median)} [${fmtRate(s.hakmem!.min)}–${fmtRate(s.hakmem!.max)}] |`,
    `| hakmem-u8 | createHeap(); heap.u8 read at every write | ${fmtRate(s["hakmem-u8"]!.median)} [${fmtRate(s["hakmem-u8"]!.min)}–${fmtRate(s["hakmem-u8"]!.max)}] |`,
    `| reference | the speed-of-light free list (bench/peers/reference.ts) | ${fmtRate(s.reference!.median)} [${fmtRate(s.reference!.min)}–${fmtRate(s.reference!.max)}] |`,
    "",
    `Ratios of medians: hakmem / reference ${fmtRatio(s.hakmem!.median / s.reference!.median)}, ` +
      `hakmem-u8 / reference ${fmtRatio(s["hakmem-u8"]!.median / s.reference!.median)}, hakmem-u8 / hakmem ${fmtRatio(s["hakmem-u8"]!.median / s.hakmem!.median)}. ` +
      `Median of the ratios within each repetition (runs next to each other): hakmem / reference ${fmtRatio(paired("hakmem", "reference"))}, ` +
      `hakmem-u8 / hakmem ${fmtRatio(paired("hakmem-u8", "hakmem"))}.`,
    "",
  ];
  const md = lines.join("\n");
  console.log(md);
  writeFileSync(resolve(RESULTS_DIR, "browser.md"), md);
  writeFileSync(resolve(RESULTS_DIR, "browser.json"), JSON.stringify({ commit: commitId(), browser: browserVersion, machine: m, N, runs, rates }, null, 2) + "\n");
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
