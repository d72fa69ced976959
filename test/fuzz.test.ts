/**
 * A short run of the fuzzer (test/fuzz.ts; `npm run fuzz -- --ops N --seed S` runs long ones):
 * random malloc / calloc / realloc / alignedAlloc / free with bad operations mixed in, against a
 * model of the live blocks, with check() every 100 ops. Runs: checked mode with one worker;
 * checked mode with a second thread heap on the same buffer (remote frees, double frees across
 * workers); default mode (only the bad operations it can survive); a small heap, so that
 * allocations fail. About 10 s in all.
 *
 * Also the regression test for a bug the fuzzer found: a worker whose views of a growable buffer
 * predate another worker's growth reads a block that crosses its old view end through those
 * views (realloc's copy, checked mode's canary and trailer).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { attachHeap, createHeap } from "../src/index.js";
import { formatSummary, runFuzz, type FuzzOptions, type FuzzSummary } from "./fuzz.js";

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
const STALE_VIEW_BUG = staleViewRealloc(false) !== "" || (CHECKED && staleViewRealloc(true) !== "");

test("realloc by a worker whose views predate another worker's growth copies the whole block", () => {
  assert.equal(staleViewRealloc(false), "");
  if (CHECKED) assert.equal(staleViewRealloc(true), "", "checked mode");
});

function run(t: { skip: (m: string) => void }, opts: Partial<FuzzOptions>): FuzzSummary | undefined {
  if (opts.checked !== false && !CHECKED) {
    t.skip("checked mode (createHeap({ check: true })) is not available in this build");
    return undefined;
  }
  const s = runFuzz({ checkEvery: 100, ...opts });
  assert.ok(s.ok, formatSummary(s));
  // The run did what it is for: bad operations of every kind were tried and caught.
  const kinds = Object.keys(s.counts).filter((k) => k.startsWith("bad:"));
  assert.ok(kinds.some((k) => k.startsWith("bad:interior")), formatSummary(s));
  assert.ok(kinds.some((k) => k.startsWith("bad:foreign")), formatSummary(s));
  if (opts.checked !== false) {
    for (const k of ["bad:double-free", "bad:overflow", "bad:write-after-free"]) {
      assert.ok(kinds.some((x) => x.startsWith(k)), `no ${k} in ${formatSummary(s)}`);
    }
  }
  assert.ok(s.checks >= Math.floor((opts.ops ?? 0) / 100), "check() ran every 100 ops");
  return s;
}

test("fuzz: checked mode, one worker", (t) => {
  for (const seed of [1, 2]) run(t, { ops: 4000, seed, checked: true, workers: 1 });
});

test(
  "fuzz: checked mode, two workers (remote frees, double frees across workers)",
  { todo: STALE_VIEW_BUG ? "fails while the stale-view bug above is open (false 'overflow' errors for blocks crossing a worker's old view end)" : undefined },
  (t) => {
    for (const seed of [3, 4]) run(t, { ops: 4000, seed, checked: true, workers: 2 });
  },
);

test("fuzz: default mode, two workers (bad pointers only)", (t) => {
  for (const seed of [5, 6]) run(t, { ops: 5000, seed, checked: false, workers: 2 });
});

test("fuzz: a 12 MiB heap that runs full", (t) => {
  for (const s of [
    run(t, { ops: 5000, seed: 7, checked: true, workers: 1, maxBytes: 12 * MiB }),
    run(t, { ops: 5000, seed: 8, checked: false, workers: 2, maxBytes: 12 * MiB }),
  ]) {
    if (s !== undefined) assert.ok(s.exhausted > 20, `the heap ran full (allocations were refused): ${formatSummary(s)}`);
  }
});
