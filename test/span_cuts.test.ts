/**
 * Span operations stopped at every point where V8 can stop a terminated worker, then repaired.
 *
 * A worker stopped by `terminate()` inside the heap lock leaves its operation half done, and the
 * survivor that reclaims it rebuilds the span tables from the page table (segments.ts
 * repairSpans). V8 stops a worker only at a function's entry or a loop's back edge, and every
 * function of the span allocator reads the region's view (`rg.i32`) first, before it stores
 * anything: so a region whose `i32` getter throws at its k-th read, and at every read after (the
 * `finally` that would unlock fails too, as a dead worker's would never run), stops the operation
 * where a termination can, one point per k. For each operation (large malloc, aligned malloc with
 * padding, free, in-place shrink and growth) and each k until the operation runs through, on a
 * fresh heap with other blocks live around it: reclaimThread takes the lock over and repairs;
 * then check() must be clean, walk() must show exactly the blocks the program holds plus at most
 * the block in flight (whole, or its new size for a resize), and once they are freed the heap
 * must hold nothing. Before the tail of an in-place shrink was marked free first, a stop there
 * left it looking like a span in use that no one held (found by the default-mode fuzz).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { attachHeap, createHeap, type Heap } from "../src/index.js";
import { Kind, Page } from "../src/layout.js";
import type { Region } from "../src/region.js";
import { assertEmpty } from "./heap_state.js";
import { abandonPage, adoptAbandoned } from "../src/pages.js";
import { acquireSpan, growSpanInPlace, releaseSpan, shrinkSpan } from "../src/segments.js";
import { classOf } from "../src/size_classes.js";

const MiB = 1 << 20;

/** Thrown where the worker is "terminated". */
class Stopped extends Error {}

/** `rg` seen through a proxy whose `i32` read number `at` (1-based), and every later read, throws. */
function stoppingAt(rg: Region, at: number): { region: Region; stopped: () => boolean } {
  let reads = 0;
  const region = new Proxy(rg, {
    get(target, prop) {
      if (prop === "i32" && ++reads >= at) throw new Stopped(`stopped at read ${at}`);
      const v: unknown = Reflect.get(target, prop, target);
      // Methods run on the proxy, so that their own reads of i32 are stop points too.
      return typeof v === "function" ? (v as (...a: unknown[]) => unknown).bind(region) : v;
    },
    set(target, prop, value) {
      return Reflect.set(target, prop, value, target);
    },
  });
  return { region, stopped: () => reads >= at };
}

function regionOf(heap: Heap): Region {
  return (heap as unknown as { region: Region }).region;
}

/** Head entry of the span holding `p`. */
function entryOf(rg: Region, p: number): number {
  return rg.i32[rg.entryOf(p)]!;
}

interface Op {
  name: string;
  /**
   * Sets up what the operation works on: returns the block it works on (or 0). Blocks the program
   * keeps go to `hold`; a block returned and not held is the block in flight.
   */
  prepare(victim: Heap, main: Heap, hold: (h: Heap, p: number) => void): number;
  /** The operation, by the victim, on its region seen through the proxy. */
  run(rg: Region, p: number, real: Region): void;
  /** Usable sizes the block in flight may have after the repair (0: it may be gone). */
  outcomes: number[];
}

const LARGE = 40 * Page.SIZE; // 40 pages: well above the mid classes
const SMALL = 100;
const ops: Op[] = [
  {
    name: "large malloc",
    prepare: () => 0,
    run: (rg) => void acquireSpan(rg, 40, Kind.LARGE),
    outcomes: [0, LARGE],
  },
  {
    name: "large malloc that grows the buffer",
    prepare: () => 0,
    run: (rg) => void acquireSpan(rg, 1024, Kind.LARGE),
    outcomes: [0, 1024 * Page.SIZE],
  },
  {
    name: "aligned large malloc (padding returned)",
    prepare: () => 0,
    run: (rg) => void acquireSpan(rg, 3, Kind.LARGE, 8),
    outcomes: [0, 3 * Page.SIZE],
  },
  {
    name: "free of a large block",
    prepare: (v) => v.malloc(LARGE),
    run: (rg, p, real) => releaseSpan(rg, entryOf(real, p)),
    outcomes: [0, LARGE],
  },
  {
    name: "in-place shrink of a large block",
    prepare: (v) => v.malloc(LARGE),
    run: (rg, p, real) => shrinkSpan(rg, entryOf(real, p), 37),
    outcomes: [LARGE, 37 * Page.SIZE],
  },
  {
    name: "in-place growth of a large block",
    prepare: (v) => {
      const p = v.malloc(LARGE);
      v.free(v.malloc(LARGE)); // a free span right after it
      return p;
    },
    run: (rg, p, real) => assert.ok(growSpanInPlace(rg, entryOf(real, p), 43), "the span after the block is free: it grows"),
    outcomes: [LARGE, 43 * Page.SIZE],
  },
  {
    name: "a new small page",
    prepare: () => 0,
    run: (rg) => void acquireSpan(rg, 1, classOf(SMALL)),
    outcomes: [0],
  },
  {
    name: "release of an empty small page",
    prepare: () => 0,
    run: (rg, _p, real) => releaseSpan(rg, acquireSpan(real, 1, classOf(SMALL))),
    outcomes: [0],
  },
  {
    name: "abandoning a small page that holds a block",
    prepare: (v, _m, hold) => {
      const p = v.malloc(SMALL);
      hold(v, p);
      v.collect(); // as in dispose: the thread cache goes back to the page before it is abandoned
      return p;
    },
    run: (rg, p, real) => abandonPage(rg, entryOf(real, p)),
    outcomes: [0],
  },
  {
    name: "adopting an abandoned page that holds a block",
    prepare: (_v, main, hold) => {
      const other = attachHeap(main.handle());
      hold(other, other.malloc(SMALL));
      other.dispose(); // its page, with the block, goes to the abandoned list
      return 0;
    },
    run: (rg) => assert.notEqual(adoptAbandoned(rg, classOf(SMALL)), 0, "there is an abandoned page to adopt"),
    outcomes: [0],
  },
];

for (const op of ops) {
  test(`span cuts: ${op.name}, stopped at each point a termination can, then reclaimed: check() clean, no block lost or made up`, (t) => {
    let points = 0;
    for (let at = 1; ; at++) {
      const heap = createHeap({ shared: true, maxBytes: 64 * MiB });
      const victim = attachHeap(heap.handle());
      // Blocks the program holds, in the main heap's pages and the victim's, small and large.
      const held = new Map<number, number>();
      const hold = (h: Heap, p: number): void => void held.set(p, h.usableSize(p));
      for (const [h, n] of [[heap, 100], [victim, 3000], [heap, 300_000], [victim, 20_000], [victim, 700_000]] as const) hold(h, h.malloc(n));
      const p = op.prepare(victim, heap, hold);
      const real = regionOf(victim);
      const cut = stoppingAt(real, at);
      try {
        op.run(cut.region, p, real);
      } catch (e) {
        if (!(e instanceof Stopped)) throw e;
      }
      if (!cut.stopped()) break; // ran through: every stop point was tried
      points++;
      const where = `${op.name}, stopped at read ${at}`;
      heap.reclaimThread(victim.threadId, { ended: true });
      const report = heap.check();
      assert.ok(report.ok, `${where}: check() after the reclaim: ${JSON.stringify(report.problems.slice(0, 4))}`);
      const extra: { ptr: number; usable: number }[] = [];
      heap.walk((b) => {
        if (held.get(b.ptr) === b.usable) held.delete(b.ptr);
        else extra.push({ ptr: b.ptr, usable: b.usable });
      });
      assert.equal(held.size, 0, `${where}: blocks the program holds are missing from walk(): ${[...held.keys()].join(", ")}`);
      const allowed = op.outcomes;
      assert.ok(extra.length <= 1, `${where}: walk() shows blocks no one holds: ${JSON.stringify(extra)}`);
      if (extra.length === 0) assert.ok(allowed.includes(0), `${where}: the block in flight is gone`);
      else {
        const [b] = extra;
        assert.ok(allowed.includes(b!.usable) && (p === 0 || b!.ptr === p), `${where}: walk() shows ${JSON.stringify(b)}; expected the block in flight (${p}) with one of ${allowed}`);
      }
      for (const b of [...extra]) heap.free(b.ptr);
      heap.walk((b) => heap.free(b.ptr));
      heap.collect();
      assertEmpty(heap, `${where}, once all is freed`);
      assert.ok(heap.check().ok, `${where}: check() at the end`);
      heap.dispose();
    }
    assert.ok(points >= 3, `${op.name}: stopped at ${points} points`);
    t.diagnostic(`stopped at ${points} points`);
  });
}
