/**
 * particles — a GC-free particle system in one thread, against the same system built of plain
 * JavaScript objects.
 *
 *   npm run build && npm run build:dev       (or npm run examples: all three, at full size)
 *   node build/examples/particles.js [--frames N] [--spawn K] [--rounds R]
 *
 * Every frame spawns K particles, moves every live particle under gravity and kills those that
 * are too old or fell below the ground. The heap version keeps each particle in a 48-byte heap
 * block (six float64 fields read through one Float64Array over the heap's buffer) and the list
 * of live particles in a Uint32Array of pointers grown with reallocAs; a dead particle's block
 * is freed and reused by the next spawn, so the frame loop creates no JS object at all. The
 * object version allocates `{ x, y, vx, vy, age, life }` per particle and leaves dead ones to
 * the garbage collector.
 *
 * Both runs draw the same random numbers in the same order, so they must end with the same
 * particles: the program checks that the positions agree bit for bit and that the heap holds
 * exactly one block per live particle (plus the list), and exits 1 otherwise. It then prints
 * frames per second for each, their ratio, and the garbage collections each run triggered
 * (median of R alternating runs). Speeds are printed, not asserted: they vary with the machine.
 */

import { parseArgs } from "node:util";
import { PerformanceObserver } from "node:perf_hooks";
import { createHeap, type Heap } from "hakmem";

const USAGE = `usage: node build/examples/particles.js [--frames N] [--spawn K] [--rounds R]
  --frames N   frames per run (default 2000)
  --spawn K    particles spawned per frame (default 200)
  --rounds R   alternating runs of each version; the median is printed (default 5)
  --help       this text`;

// A particle's fields, as float64 indexes into its block.
const X = 0, Y = 1, VX = 2, VY = 3, AGE = 4, LIFE = 5;
const PARTICLE_BYTES = 48;
const DT = 1 / 60;
const GRAVITY = -9.81;

/**
 * A small deterministic generator (mulberry32), so that both versions draw the same numbers.
 * It returns integers in [0, 2^24), which V8 passes around unboxed (a returned float would be
 * boxed in a heap number whenever the call is not inlined); callers scale them by UNIT. A class,
 * not a closure: a new closure per run would be a new call target, and V8 would throw away the
 * optimized loop at every run.
 */
class Random {
  private s: number;
  constructor(seed: number) {
    this.s = seed | 0; // an int32 state, unboxed for the same reason
  }
  next(): number {
    const s = (this.s = (this.s + 0x6d2b79f5) | 0);
    let t = Math.imul(s ^ (s >>> 15), s | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 8;
  }
}
const UNIT = 2 ** -24;

/** Outcome of one run: live particles at the end and a fingerprint of their positions. */
interface RunResult {
  /** When the timed loop started (performance.now()) and how long it took. */
  start: number;
  ms: number;
  live: number;
  /** Sum of x·(i+1) + y over the live list, in list order: equal only for equal particles. */
  fingerprint: number;
}

/** The particle system over a hakmem heap. */
function runHeap(heap: Heap, frames: number, spawn: number, seed: number): RunResult {
  const rand = new Random(seed);
  const first = heap.mallocAs(Uint32Array, 1024);
  if (first === null) throw new Error("heap full");
  let list: Uint32Array = first;
  let live = 0;
  let f64 = new Float64Array(heap.buffer, 0, heap.buffer.byteLength >>> 3);
  const t0 = performance.now();
  for (let frame = 0; frame < frames; frame++) {
    if (live + spawn > list.length) {
      const grown = heap.reallocAs(list, list.length * 2);
      if (grown === null) throw new Error("heap full");
      list = grown;
    }
    for (let k = 0; k < spawn; k++) {
      const p = heap.malloc(PARTICLE_BYTES);
      if (p === 0) throw new Error("heap full");
      // A block past the end of our view means the heap grew: views are length-fixed, re-make it.
      if (p + PARTICLE_BYTES > f64.byteLength) f64 = new Float64Array(heap.buffer, 0, heap.buffer.byteLength >>> 3);
      const i = p >>> 3;
      f64[i + X] = 0;
      f64[i + Y] = 0;
      f64[i + VX] = rand.next() * UNIT * 4 - 2;
      f64[i + VY] = rand.next() * UNIT * 10 + 5;
      f64[i + AGE] = 0;
      f64[i + LIFE] = rand.next() * UNIT * 3 + 0.5;
      list[live++] = p;
    }
    for (let n = 0; n < live; ) {
      const i = list[n]! >>> 3;
      f64[i + VY] = f64[i + VY]! + GRAVITY * DT;
      f64[i + X] = f64[i + X]! + f64[i + VX]! * DT;
      f64[i + Y] = f64[i + Y]! + f64[i + VY]! * DT;
      const age = (f64[i + AGE] = f64[i + AGE]! + DT);
      if (age > f64[i + LIFE]! || f64[i + Y]! < -1) {
        heap.free(list[n]!);
        list[n] = list[--live]!; // swap-remove: the same order as the object version
      } else {
        n++;
      }
    }
  }
  const ms = performance.now() - t0;
  let fingerprint = 0;
  for (let n = 0; n < live; n++) fingerprint += f64[(list[n]! >>> 3) + X]! * (n + 1) + f64[(list[n]! >>> 3) + Y]!;
  // Exactly one block per live particle, and the list: nothing leaked, nothing freed twice.
  const blocks = heap.stats().liveBlocks;
  if (blocks !== live + 1) throw new Error(`the heap holds ${blocks} blocks for ${live} live particles and the list`);
  for (let n = 0; n < live; n++) heap.free(list[n]!);
  heap.freeView(list);
  return { start: t0, ms, live, fingerprint };
}

interface Particle {
  x: number;
  y: number;
  vx: number;
  vy: number;
  age: number;
  life: number;
}

/** The same system with one object per particle. */
function runObjects(frames: number, spawn: number, seed: number): RunResult {
  const rand = new Random(seed);
  const list: Particle[] = [];
  const t0 = performance.now();
  for (let frame = 0; frame < frames; frame++) {
    for (let k = 0; k < spawn; k++) {
      const vx = rand.next() * UNIT * 4 - 2;
      const vy = rand.next() * UNIT * 10 + 5;
      list.push({ x: 0, y: 0, vx, vy, age: 0, life: rand.next() * UNIT * 3 + 0.5 });
    }
    for (let n = 0; n < list.length; ) {
      const q = list[n]!;
      q.vy += GRAVITY * DT;
      q.x += q.vx * DT;
      q.y += q.vy * DT;
      q.age += DT;
      if (q.age > q.life || q.y < -1) {
        const last = list.pop()!;
        if (n < list.length) list[n] = last;
      } else {
        n++;
      }
    }
  }
  const ms = performance.now() - t0;
  let fingerprint = 0;
  for (let n = 0; n < list.length; n++) fingerprint += list[n]!.x * (n + 1) + list[n]!.y;
  return { start: t0, ms, live: list.length, fingerprint };
}

/** Lets pending tasks run (the GC observer's reports among them). */
function settle(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1]!;
}

/** The command line's options; null for --help. Throws on anything else it cannot use. */
function readOptions(): { frames: number; spawn: number; rounds: number } | null {
  const { values } = parseArgs({
    options: {
      frames: { type: "string", default: "2000" },
      spawn: { type: "string", default: "200" },
      rounds: { type: "string", default: "5" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return null;
  const positive = (name: "frames" | "spawn" | "rounds"): number => {
    const v = Number(values[name]);
    if (!Number.isSafeInteger(v) || v < 1) throw new RangeError(`--${name} takes a positive integer, got ${JSON.stringify(values[name])}`);
    return v;
  };
  return { frames: positive("frames"), spawn: positive("spawn"), rounds: positive("rounds") };
}

async function main(): Promise<number> {
  let options;
  try {
    options = readOptions();
  } catch (e) {
    console.error(`particles: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }
  const { frames, spawn, rounds } = options;

  // Start times of garbage collections, to count those inside each timed loop afterwards (the
  // observer reports them in a later task).
  const gcStarts: number[] = [];
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcStarts.push(e.startTime);
  });
  observer.observe({ entryTypes: ["gc"] });

  const heap = createHeap({ maxBytes: 256 << 20 });
  // A warm-up of each, untimed: until V8 optimizes the loops, their floats are boxed on the JS heap.
  runHeap(heap, Math.ceil(frames / 2), spawn, 1);
  runObjects(Math.ceil(frames / 2), spawn, 1);
  const runs = { heap: [] as RunResult[], objects: [] as RunResult[] };
  for (let r = 0; r < rounds; r++) {
    const results: Partial<Record<"heap" | "objects", RunResult>> = {};
    // Alternate which goes first, so that neither always runs on a warmer (or busier) machine.
    for (const which of r % 2 === 0 ? (["heap", "objects"] as const) : (["objects", "heap"] as const)) {
      const result = which === "heap" ? runHeap(heap, frames, spawn, 42 + r) : runObjects(frames, spawn, 42 + r);
      runs[which].push(result);
      results[which] = result;
    }
    const { heap: h, objects: o } = results as Record<"heap" | "objects", RunResult>;
    if (h.live !== o.live || !Object.is(h.fingerprint, o.fingerprint)) {
      console.error(`particles: FAIL: the heap run ended with ${h.live} particles (fingerprint ${h.fingerprint}), the object run with ${o.live} (${o.fingerprint})`);
      return 1;
    }
    if (r === 0) console.log(`particles: both versions end with the same ${h.live} particles (positions equal bit for bit)`);
  }
  await settle();
  observer.disconnect();
  const collections = (which: "heap" | "objects") =>
    median(runs[which].map((run) => gcStarts.filter((t) => t >= run.start && t <= run.start + run.ms).length));
  const s = heap.stats();
  if (s.liveBlocks !== 0) {
    console.error(`particles: FAIL: ${s.liveBlocks} blocks still live after the runs`);
    return 1;
  }
  const fps = (ms: number) => (frames / ms) * 1000;
  const heapFps = fps(median(runs.heap.map((run) => run.ms)));
  const objFps = fps(median(runs.objects.map((run) => run.ms)));
  console.log(`particles: ${frames} frames, ${spawn} spawned per frame, median of ${rounds} runs each`);
  console.log(`  hakmem heap:   ${heapFps.toFixed(0)} frames/s, ${collections("heap")} garbage collections per run`);
  console.log(`  plain objects: ${objFps.toFixed(0)} frames/s, ${collections("objects")} garbage collections per run`);
  console.log(`  heap / objects: ${(heapFps / objFps).toFixed(2)}× (speeds vary with the machine; not asserted)`);
  console.log(`particles: OK (heap peak ${(s.peakHeapBytes / 1048576).toFixed(1)} MiB, no block left)`);
  return 0;
}

process.exitCode = await main();
