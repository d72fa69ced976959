/**
 * Short runs of the two fuzzers (test/fuzz/; `npm run fuzz` and `npm run reliability` run long
 * ones):
 * - checked mode (one thread, one or two thread heaps, bad operations mixed in): every kind of bad
 *   operation was tried and caught, full checks ran; withheld blocks stay bounded (repaired after
 *   their check, a check forced at WITHHELD_CAP) in a run whose checks are far apart; a small heap
 *   that runs full;
 * - default mode over 1, 2 and 4 worker threads with cross-worker frees, double frees and
 *   foreign pointers, terminations and reclaim: runs clean, and terminations happened;
 * - replay: a fault injected at a known op fails the run with a replay line, and that line, run as
 *   a command, fails the same way (same op, same block id), in both modes.
 *
 * Also the regression test for a bug the fuzzer found: a worker whose views of a growable buffer
 * predate another worker's growth reads a block that crosses its old view end through those
 * views (realloc's copy, checked mode's canary and trailer).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { attachHeap, createHeap } from "../src/index.js";
import { runCheckedFuzz, type CheckedFuzzOptions } from "./fuzz/checked.js";
import { formatSummary, type FuzzSummary } from "./fuzz/common.js";
import { runDefaultFuzz } from "./fuzz/default_mode.js";
import { runProcess } from "./processes.js";

const MiB = 1 << 20;

function checkedModeAvailable(): boolean {
  try {
    createHeap({ check: true, maxBytes: 8 * MiB });
    return true;
  } catch {
    return false;
  }
}
const CHECKED = checkedModeAvailable();
const NO_CHECKED = "checked mode (createHeap({ check: true })) is not available in this build";

/**
 * Worker b reallocates a large block that worker a allocated by growing the buffer, and that
 * starts before the end of b's (older) views and ends after it. Returns what went wrong, or "".
 */
function staleViewRealloc(check: boolean): string {
  const a = createHeap({ maxBytes: 64 * MiB, shared: true, initialBytes: 4 * MiB, check });
  const b = attachHeap(a.handle());
  b.malloc(150_000); // b's page of this mid class, with room for more: b's realloc will not grow
  const end0 = a.buffer.byteLength;
  const st = a.stats();
  a.malloc(end0 - st.metadataBytes - st.heapBytes - 65536 - 1000); // leave one page before b's view end
  const p = a.malloc(600_000); // grows the buffer: starts before b's view end, ends after it
  if (!(p < end0 && p + 600_000 > end0)) return ""; // the layout changed: the case did not arise
  a.u8.fill(7, p, p + 600_000);
  let q: number;
  try {
    q = b.realloc(p, 150_000);
  } catch (e) {
    return `b.realloc(${p}, 150000) threw: ${(e as Error).message}`;
  }
  const u8 = a.u8;
  for (let i = 0; i < 150_000; i++) {
    if (u8[q + i] !== 7) return `b.realloc(${p}, 150000) copied only ${i} bytes: from address ${p + i} (b's old view end ${end0}) on the old block was not copied`;
  }
  return "";
}

test("realloc by a worker whose views predate another worker's growth copies the whole block", () => {
  assert.equal(staleViewRealloc(false), "");
  if (CHECKED) assert.equal(staleViewRealloc(true), "", "checked mode");
});

function kinds(s: FuzzSummary): string[] {
  return Object.keys(s.counts).filter((k) => k.startsWith("bad:"));
}

function checked(opts: Partial<CheckedFuzzOptions>): FuzzSummary {
  const s = runCheckedFuzz({ checkEvery: 100, ...opts });
  assert.ok(s.ok, formatSummary(s));
  // The run did what it is for: bad operations of every kind were tried and caught.
  for (const k of ["bad:double-free", "bad:interior", "bad:foreign", "bad:overflow", "bad:write-after-free"]) {
    assert.ok(kinds(s).some((x) => x.startsWith(k)), `no ${k} in ${formatSummary(s)}`);
  }
  assert.ok(s.figures.targetedChecks! > 0, `check() named a bad operation's fault: ${formatSummary(s)}`);
  return s;
}

test("fuzz, checked mode: one thread heap, then two (remote frees, double frees across them)", (t) => {
  if (!CHECKED) return t.skip(NO_CHECKED);
  for (const [seed, workers] of [[1, 1], [2, 1], [3, 2], [4, 2]] as const) {
    const s = checked({ ops: 4000, seed, workers });
    assert.ok(s.checks >= 40, `check() ran every 100 ops: ${formatSummary(s)}`);
    assert.ok(s.counts["bad:double-free"]! > 0, "double frees caught as such (HeapCorruptionError)");
    if (workers === 2) assert.ok(s.counts["free(remote)"]! > 0);
  }
});

test("fuzz, checked mode: withheld blocks are repaired after their check, at most WITHHELD_CAP at once", (t) => {
  if (!CHECKED) return t.skip(NO_CHECKED);
  // Checks far apart, many writes after free: the cap forces the checks that repair them.
  const s = checked({ ops: 8000, seed: 9, workers: 1, badRate: 0.6, checkEvery: 1_000_000 });
  assert.ok(s.figures.withheldRepaired! >= 256, formatSummary(s));
  assert.ok(s.figures.peakWithheld! <= 256, formatSummary(s));
  assert.ok(s.counts["bad:write-after-free(caught at reuse)"]! >= s.figures.withheldRepaired!, formatSummary(s));
});

test("fuzz, checked mode: a 12 MiB heap that runs full", (t) => {
  if (!CHECKED) return t.skip(NO_CHECKED);
  const s = checked({ ops: 5000, seed: 7, workers: 1, maxBytes: 12 * MiB });
  assert.ok(s.figures.exhausted! > 20, `the heap ran full (allocations were refused): ${formatSummary(s)}`);
});

test("fuzz, default mode: 1, 2 and 4 worker threads, cross-worker frees, terminations and reclaim", async (t) => {
  for (const workers of [1, 2, 4]) {
    await t.test(`${workers} worker thread${workers === 1 ? "" : "s"}`, async () => {
      const s = await runDefaultFuzz({ ops: 48_000, seed: 10 + workers, workers, epochOps: 1000, terminateEvery: 3, checkEvery: 2000 });
      assert.ok(s.ok, formatSummary(s));
      assert.ok(s.terminations >= 2, `workers were terminated and reclaimed: ${formatSummary(s)}`);
      assert.ok(s.figures.reclaimedPages! > 0, formatSummary(s));
      // A full check at the end of the epoch that completes 2000 ops since the last (epochs of 1000 per worker).
      assert.ok(s.checks >= Math.floor(s.ops / (2000 + workers * 1000)), `full checks ran: ${formatSummary(s)}`);
      for (const k of ["bad:double-free", "bad:double-free(main thread)", "bad:interior", "bad:outside", "bad:type", "free(transfer) (another's page)", "hand over"]) {
        assert.ok(s.counts[k]! > 0, `no ${k}: ${formatSummary(s)}`);
      }
    });
  }
});

test("fuzz, default mode: a 24 MiB heap that runs full", async () => {
  const s = await runDefaultFuzz({ ops: 16_000, seed: 8, workers: 2, maxBytes: 24 * MiB, epochOps: 1000, terminateEvery: 4 });
  assert.ok(s.ok, formatSummary(s));
  assert.ok(s.counts["refused (heap full)"]! > 50, `allocations were refused: ${formatSummary(s)}`);
});

/** Runs `npm run fuzz -- <args>` as its build: node build/test/fuzz.js <args>. */
function runReplay(replay: string) {
  const prefix = "npm run fuzz -- ";
  assert.ok(replay.startsWith(prefix), replay);
  return runProcess(process.execPath, ["build/test/fuzz.js", ...replay.slice(prefix.length).split(" "), "--quiet"]);
}

/** The damaged block's id and, when a verification before a free found it, the op. */
function failingOpAndId(failure: string): string {
  const id = /lost its data/.test(failure) ? /\bid (-?\d+)/.exec(failure) : null;
  assert.ok(id, `the failure names a block id: ${failure}`);
  const op = /at op (\d+)/.exec(failure);
  return `${op ? `op ${op[1]}, ` : ""}id ${id[1]}`;
}

test("fuzz: a fault injected at a known op fails the run, and its replay line fails the same way", async (t) => {
  const runs: FuzzSummary[] = [await runDefaultFuzz({ ops: 40_000, seed: 3, workers: 2, injectFault: 15_000, epochOps: 1000, terminateEvery: 5 })];
  if (CHECKED) runs.push(runCheckedFuzz({ ops: 20_000, seed: 3, injectFault: 5000 }));
  else t.diagnostic(NO_CHECKED);
  for (const s of runs) {
    await t.test(`${s.mode} mode`, async () => {
      assert.equal(s.ok, false, `the damage was found: ${formatSummary(s)}`);
      assert.match(s.failure, /lost its data/);
      assert.match(s.replay, / --inject-fault \d+/);
      const again = await runReplay(s.replay);
      assert.equal(again.code, 1, `${s.replay}\n${again.stdout}${again.stderr}`);
      assert.match(again.stdout, new RegExp(`replay: ${s.replay.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}$`, "m"), "the replay's own replay line is the same");
      assert.equal(failingOpAndId(again.stdout), failingOpAndId(s.failure), `${s.replay}\n${again.stdout}`);
    });
  }
});
