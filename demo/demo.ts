/**
 * demo — the demo page's script (`npm run demo`): hakmem workers allocating on one heap, the live
 * heap map, each worker's throughput, and a worker doing the same with `new Uint8Array` for the
 * garbage collector, to compare.
 *
 * The page creates the heap and starts module workers (worker.ts), handing them hakmem's URL from
 * its import map (import.meta.resolve: import maps do not reach workers). A few times a second
 * it redraws heap.renderMap() and the statistics; once a second it turns the workers' counters
 * into operations per second. "Terminate a worker" stops one hakmem worker with terminate() and
 * takes its pages over with reclaimWhenGone, showing how long that took.
 */

import { createHeap, reclaimWhenGone } from "hakmem";
import { INBOX_SLOTS, MAX_WORKERS, PAUSE, type DemoStart, type SizeMix } from "./protocol.js";

const HAKMEM = import.meta.resolve("hakmem");
/** Size mixes of the hakmem workers, in turn: small, up to 4 KiB, mostly small with many mid-sized. */
const MIXES: SizeMix[] = [
  { min: 16, range: 240, midEvery: 1 << 30 },
  { min: 16, range: 4080, midEvery: 1 << 30 },
  { min: 64, range: 960, midEvery: 24 },
];
const HAKMEM_WORKERS = 3;

interface Running {
  worker: Worker;
  kind: "hakmem" | "gc";
  index: number;
  label: string;
  threadId: number;
  alive: boolean;
  last: number;
  rate: number;
}

const el = <T extends HTMLElement>(id: string): T => document.getElementById(id) as T;

function start(): void {
  const heap = createHeap({ maxBytes: 512 << 20 });
  const counters = new Int32Array(new SharedArrayBuffer(4 * (MAX_WORKERS + 1)));
  const inboxes = new Int32Array(new SharedArrayBuffer(4 * INBOX_SLOTS * HAKMEM_WORKERS));
  const running: Running[] = [];
  const spawn = (kind: "hakmem" | "gc", index: number, mix: SizeMix, label: string): void => {
    const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: label });
    const data: DemoStart = {
      kind, hakmem: HAKMEM, handle: kind === "hakmem" ? heap.handle() : null, index, workers: HAKMEM_WORKERS,
      counters: counters.buffer as SharedArrayBuffer, inboxes: inboxes.buffer as SharedArrayBuffer, mix, seed: 1 + index * 7919,
    };
    const r: Running = { worker, kind, index, label, threadId: 0, alive: true, last: 0, rate: 0 };
    worker.onmessage = (e: MessageEvent) => (r.threadId = (e.data as { threadId: number }).threadId);
    worker.postMessage(data);
    running.push(r);
  };
  for (let i = 0; i < HAKMEM_WORKERS; i++) {
    const m = MIXES[i % MIXES.length]!;
    spawn("hakmem", i, m, `hakmem worker ${i + 1}: ${m.min}–${m.min + m.range - 1} B${m.midEvery < 1 << 30 ? ", some 8–64 KiB" : ""}`);
  }
  spawn("gc", HAKMEM_WORKERS, MIXES[2]!, `GC: new Uint8Array(n), sizes as worker ${HAKMEM_WORKERS}`);
  const drainDeadInboxes = (): void => {
    for (const r of running) {
      if (r.kind !== "hakmem" || r.alive) continue;
      const inbox = new Int32Array(inboxes.buffer, r.index * INBOX_SLOTS * 4, INBOX_SLOTS);
      for (let s = 0; s < INBOX_SLOTS; s++) {
        const p = Atomics.exchange(inbox, s, 0);
        if (p !== 0) heap.free(p);
      }
    }
  };

  const map = el<HTMLDivElement>("map");
  const stats = el<HTMLDivElement>("stats");
  let frames = 0;
  const redraw = (): void => {
    drainDeadInboxes();
    map.innerHTML = heap.renderMap();
    const s = heap.stats();
    const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;
    stats.textContent =
      `${s.liveBlocks.toLocaleString("en-US")} live blocks, ${mib(s.liveBytes)} live; pages in use ${mib(s.heapBytes)} ` +
      `(peak ${mib(s.peakHeapBytes)}); buffer ${mib(s.mappedBytes)}; ${s.segmentsInUse} segments in use, ${s.segmentsCached} cached; ` +
      `${s.growths} growths; ${s.threads.length} threads attached`;
    frames++;
    document.body.dataset.frames = String(frames);
  };

  const table = el<HTMLTableSectionElement>("rates");
  let lastTime = performance.now();
  const rates = (): void => {
    const now = performance.now();
    const dt = (now - lastTime) / 1000;
    lastTime = now;
    table.innerHTML = "";
    for (const r of running) {
      const count = Atomics.load(counters, r.index);
      r.rate = (count - r.last) / dt;
      r.last = count;
      const row = table.insertRow();
      row.insertCell().textContent = r.label + (r.alive ? "" : " (terminated)");
      const cell = row.insertCell();
      cell.textContent = r.alive ? `${(r.rate / 1e6).toFixed(2)} M ops/s` : "—";
      cell.className = "num";
    }
  };

  el<HTMLButtonElement>("pause").onclick = (e) => {
    const paused = Atomics.load(counters, PAUSE) === 0;
    Atomics.store(counters, PAUSE, paused ? 1 : 0);
    (e.target as HTMLButtonElement).textContent = paused ? "Resume" : "Pause";
  };
  el<HTMLButtonElement>("terminate").onclick = async () => {
    const victim = [...running].reverse().find((r) => r.kind === "hakmem" && r.alive && r.threadId !== 0);
    const out = el<HTMLSpanElement>("reclaimed");
    if (victim === undefined || running.filter((r) => r.kind === "hakmem" && r.alive).length <= 1) {
      out.textContent = "one hakmem worker is left: keeping it";
      return;
    }
    victim.alive = false;
    const t0 = performance.now();
    victim.worker.terminate();
    out.textContent = `terminated ${victim.label}; waiting until it has really stopped…`;
    const pages = await reclaimWhenGone(heap, victim.worker, victim.threadId);
    out.textContent = `${victim.label}: ${pages} pages taken over ${Math.round(performance.now() - t0)} ms after terminate()`;
  };

  setInterval(redraw, 250);
  setInterval(rates, 1000);
  redraw();
  rates();
}

start();
