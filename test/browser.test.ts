/**
 * Browser tests: the built package (dist/) in headless Chromium, with module Web Workers.
 *
 * A server on 127.0.0.1 (browser/server.ts) serves test/browser/index.html with the COOP/COEP
 * headers (cross-origin isolated: SharedArrayBuffer exists) and without them; each test opens the
 * page, runs one case of test/browser/cases.ts in it and asserts what it returns, and that the
 * page logged no error. Without Chromium (Debian's `chromium`) the tests are skipped with a line
 * naming the apt command.
 *
 * The terminate case runs 50 rounds; each terminates an idle victim, and every 10th round also
 * four busy ones (in an endless malloc/free loop: Chromium stops those only about 2 s after
 * terminate()), all at once. Idle victims keep the run short; the 20 busy ones are those a
 * reclaim before their end corrupts the heap with, as the control test shows: in 3 of the 5 busy
 * rounds, two of them never return to their event loop after attaching, so that their liveness
 * lock never reaches the lock manager and reclaimWhenGone must wait out its grace (liveness.ts).
 */

import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import type { Page } from "playwright-core";
import { chromiumMissing, collectPageErrors, launchChromium, type Chromium } from "../browser/chromium.js";
import { startServer, type Isolation, type PageServer } from "../browser/server.js";
import { loadDemo } from "../demo/serve.js";
import type * as Cases from "./browser/cases.js";
import { ROOT } from "./processes.js";

type CaseName = keyof typeof Cases & string;
type CaseFn<K extends CaseName> = (typeof Cases)[K] extends (...args: infer A) => infer R ? { args: A; result: Awaited<R> } : never;

const missing = chromiumMissing();

if (missing !== undefined) {
  console.log(`# browser tests skipped: ${missing}`);
  test("browser tests in Chromium", { skip: missing }, () => {});
} else {
  let server: PageServer;
  let chromium: Chromium;

  before(async () => {
    server = await startServer(ROOT);
    chromium = await launchChromium();
  });
  after(async () => {
    await chromium?.close();
    await server?.close();
  });

  /** Opens the test page served as `isolation`, runs case `name` with `args`, closes the page. */
  async function run<K extends CaseName>(isolation: Isolation, name: K, ...args: CaseFn<K>["args"]): Promise<CaseFn<K>["result"]> {
    const page: Page = await chromium.context.newPage();
    const errors = collectPageErrors(page);
    try {
      await page.goto(server.url(isolation, "test/browser/index.html"));
      await page.waitForFunction(() => "hakmemCases" in window, undefined, { timeout: 10_000 });
      const result = await page.evaluate(
        ([n, a]) => (window as unknown as { hakmemCases: Record<string, (...x: unknown[]) => unknown> }).hakmemCases[n]!(...a),
        [name, args] as const,
      );
      assert.deepEqual(errors, [], "the page logged no error");
      return result as CaseFn<K>["result"];
    } finally {
      await page.close();
    }
  }

  test("API round trips in a cross-origin isolated page (growable SharedArrayBuffer)", async () => {
    const r = await run("coi", "apiRoundTrips");
    assert.equal(r.buffer, "SharedArrayBuffer");
  });

  test("without cross-origin isolation: round trips over the fallback, errors that name the fix, no ReferenceError", async (t) => {
    const r = await run("plain", "apiRoundTrips");
    assert.equal(r.buffer, "ArrayBuffer");
    const e = await run("plain", "fallbackErrors");
    t.diagnostic(`createHeap({ shared: true }): ${e.sharedError}`);
    t.diagnostic(`handle(): ${e.handleError}`);
  });

  test("4 module workers: concurrent growth, cross-worker frees, exact stats, check() clean", async (t) => {
    const r = await run("coi", "workersExchange", 4, 2000);
    t.diagnostic(JSON.stringify(r));
  });

  test("a heap in a shared WebAssembly.Memory, used by a wasm module in two workers", async (t) => {
    const r = await run("coi", "sharedWasmMemory");
    t.diagnostic(JSON.stringify(r));
  });

  test("the page's main thread gives up on a lock held by a stopped worker after ~1 s, with an error naming the fix", async (t) => {
    const r = await run("coi", "mainThreadGivesUp");
    assert.ok(r.waitedMs >= 900 && r.waitedMs < 10_000, `gave up after ${r.waitedMs} ms`);
    t.diagnostic(`after ${Math.round(r.waitedMs)} ms: ${String(r.message)}`);
  });

  test("the control: reclaimThread(id, { ended: true }) right after terminate() of a busy worker corrupts the heap, and the rounds see it", async (t) => {
    const r = await run("coi", "terminateAndReclaim", { rounds: 5, busyEvery: 1, busyPerRound: 1, unregisteredEvery: 0, survivors: 2, reclaim: "immediately" });
    assert.equal(r.corruptRounds, 1, "damage found (the run stops at the first)");
    t.diagnostic(`found in round ${r.rounds - 1}: ${r.firstProblems[0]?.split("\n")[0]}`);
  });

  test("terminate + reclaimWhenGone: 50 rounds with survivors allocating and busy victims, nothing corrupt", async (t) => {
    const r = await run("coi", "terminateAndReclaim", { rounds: 50, busyEvery: 10, busyPerRound: 4, unregisteredEvery: 2, survivors: 2, reclaim: "whenGone" });
    assert.equal(r.rounds, 50);
    assert.equal(r.corruptRounds, 0, r.firstProblems.join("\n"));
    assert.equal(r.busyVictims, 20);
    assert.equal(r.unregisteredVictims, 6, "busy victims that ran on without a liveness lock the lock manager knew");
    assert.equal(r.idleVictims, 50);
    // The busy victims were still running when terminate() returned: they kept allocating.
    assert.ok(r.busyStepsAfterTerminate.every((n) => n > 0), `steps after terminate(): ${r.busyStepsAfterTerminate.join(", ")}`);
    assert.ok(r.pagesTakenOver > 0);
    assert.ok(r.handoffs > 0, "survivors freed blocks the victims handed over");
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
    t.diagnostic(
      `${r.rounds} rounds in ${r.seconds.toFixed(1)} s; busy victims stopped ${median(r.busyStopMs)} ms (median; ${Math.min(...r.busyStopMs)}–${Math.max(...r.busyStopMs)}) after terminate(), ` +
        `making ${median(r.busyStepsAfterTerminate)} more steps meanwhile (median); idle ones ${median(r.idleStopMs)} ms; ` +
        `${r.pagesTakenOver} pages taken over, ${r.handoffs} blocks handed over, ${r.survivorOps} survivor steps; ${r.liveBlocksLeft} blocks lost (bound ${r.lossBound})`,
    );
  });

  test("the demo page: loads without errors, draws the map, shows each worker's throughput, terminates and reclaims a worker", async (t) => {
    const { page, png, frames, rates, errors } = await loadDemo(chromium.context, server, 2.5);
    try {
      assert.ok(frames >= 5, `the map was redrawn ${frames} times`);
      assert.ok(await page.locator("#map svg").count() === 1, "the map is an SVG");
      const perWorker = [...rates.matchAll(/([0-9.]+) M ops\/s/g)].map((m) => Number(m[1]));
      assert.equal(perWorker.length, 4, `a rate for each worker: ${rates}`);
      assert.ok(perWorker.every((r) => r > 0), `every worker makes progress: ${rates}`);
      assert.ok(png.length > 20_000, "a screenshot with something in it");
      await page.click("#terminate");
      await page.waitForFunction(() => /pages taken over/.test(document.getElementById("reclaimed")?.textContent ?? ""), undefined, { timeout: 15_000 });
      t.diagnostic(`${rates} | ${await page.locator("#reclaimed").textContent()}`);
      assert.deepEqual(errors, [], "the page logged no error");
    } finally {
      await page.close();
    }
  });
}
