/**
 * xthread_worker — the producer or the consumer of xthread / xthread_local (workloads/xthread.ts).
 *
 * Item i (0 ≤ i < N), the same PRNG sequence on both sides (so the consumer knows what to expect):
 *     x = xorshift32(x); size = minSize + x mod range; stamp = (x >>> 8) & 255
 * Producer: p = malloc(size), stamp at p[0] and stamp ^ 0x5a at p[size - 1], p into the ring.
 * Consumer: p from the ring, verify both bytes, then
 *   xthread:        free(p)                        — a cross-worker free
 *   xthread_local:  p into the return ring; the producer frees it (a same-worker free), draining
 *                   the return ring every B items, while it waits, and at the end.
 * gc peer (xthread only): the producer takes each block out of its table and posts them in
 * batches of B (one postMessage per batch, structured clone: copied); the consumer receives each
 * batch (receiveMessageOnPort), puts every block into its table, verifies it and frees it (drops
 * it). The ring's counters still do the flow control (at most Q blocks in flight).
 *
 * Warm-up: both workers first run the whole protocol 3 times for warmN/3 items on the warm
 * instance (a second shared heap, or private gc tables) over warm rings of their own, so that the
 * timed part runs optimized code; then READY, GO, the timed N items. The timed part ends, per
 * worker, when its last item is done (the producer of xthread_local: when it has freed all N).
 */

import { receiveMessageOnPort, workerData, type MessagePort } from "node:worker_threads";
import { umod } from "../lib/rand.js";
import type { GcBlockMover, WorkerAllocator } from "../peers/types.js";
import { STAMP_XOR, endTimed, loadWorkerPeer, patternError, readyThenGo, seedFor, workerMain, type WorkerBase, type WorkerResult } from "./protocol.js";
import { RingReader, RingWriter, type Idle } from "./spsc.js";

/** The rings and port of one run of the protocol (the warm-up's or the timed one's). */
export interface XthreadChannel {
  ring: SharedArrayBuffer;
  /** xthread_local: the return ring (consumer → producer). */
  back: SharedArrayBuffer | null;
  /** gc peer: the producer's or the consumer's end of the channel the batches travel on. */
  port: MessagePort | null;
}

export interface XthreadWorkerData extends WorkerBase {
  role: "producer" | "consumer";
  local: boolean;
  N: number;
  Q: number;
  B: number;
  minSize: number;
  range: number;
  seed: number;
  warmN: number;
  /** One channel per warm-up round (each round runs the whole protocol for warmN / rounds items). */
  warmChannels: XthreadChannel[];
  channel: XthreadChannel;
}

interface Counts {
  items: number;
  verified: number;
  checksum: number;
}

/** xthread_local: the producer's side of the return ring — frees whatever the consumer handed back. */
class Returns implements Idle {
  freed = 0;
  constructor(
    private readonly a: WorkerAllocator,
    private readonly back: RingReader,
  ) {}

  idle(): void {
    const back = this.back;
    const k = back.available();
    if (k === 0) return;
    for (let j = 0; j < k; j++) this.a.free(back.pop());
    this.freed += k;
    back.publish(); // the consumer may be waiting for room to hand back more
  }
}

/** Producer of the shared-memory peers; returns its counts once all N are produced (and, local, freed). */
function produce(a: WorkerAllocator, out: RingWriter, back: RingReader | null, d: XthreadWorkerData, n: number): Counts {
  let x = seedFor(d.seed, 0, 0);
  const minSize = d.minSize;
  const range = d.range;
  const bmask = d.B - 1;
  const returns = back === null ? null : new Returns(a, back);
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = minSize + umod(x, range);
    const p = a.malloc(size);
    if (p === 0) throw new Error(`xthread producer: malloc(${size}) returned 0 (allocator exhausted) at item ${i}`);
    const stamp = (x >>> 8) & 255;
    a.write(p, 0, stamp);
    a.write(p, size - 1, stamp ^ STAMP_XOR);
    out.push(p, returns);
    if (returns !== null && (i & bmask) === bmask) returns.idle();
  }
  out.publish();
  if (back !== null && returns !== null) {
    while (returns.freed < n) {
      back.waitData(null);
      returns.idle();
    }
    back.publish();
  }
  return { items: n, verified: 0, checksum: x };
}

/** Consumer of the shared-memory peers. */
function consume(a: WorkerAllocator, inp: RingReader, back: RingWriter | null, d: XthreadWorkerData, n: number): Counts {
  let x = seedFor(d.seed, 0, 0);
  const minSize = d.minSize;
  const range = d.range;
  for (let i = 0; i < n; i++) {
    const p = inp.pop();
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = minSize + umod(x, range);
    const stamp = (x >>> 8) & 255;
    const b0 = a.read(p, 0);
    const b1 = a.read(p, size - 1);
    if (b0 !== stamp || b1 !== (stamp ^ STAMP_XOR)) throw patternError(`xthread consumer, item ${i}`, p >>> 0, size, stamp, b0, b1);
    if (back === null) a.free(p);
    else back.push(p, null);
  }
  inp.publish();
  back?.publish();
  return { items: n, verified: n, checksum: x };
}

/** Producer of the gc peer: blocks posted in batches of B, the ring counting them. */
function produceGc(a: WorkerAllocator & GcBlockMover, out: RingWriter, port: MessagePort, d: XthreadWorkerData, n: number): Counts {
  let x = seedFor(d.seed, 0, 0);
  const minSize = d.minSize;
  const range = d.range;
  let batch: Uint8Array[] = [];
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    const size = minSize + umod(x, range);
    const h = a.malloc(size);
    const stamp = (x >>> 8) & 255;
    a.write(h, 0, stamp);
    a.write(h, size - 1, stamp ^ STAMP_XOR);
    batch.push(a.take(h));
    if (batch.length === d.B || i === n - 1) {
      out.waitSpace(batch.length, null);
      port.postMessage(batch);
      out.advance(batch.length);
      batch = [];
    }
  }
  return { items: n, verified: 0, checksum: x };
}

/** Consumer of the gc peer. */
function consumeGc(a: WorkerAllocator & GcBlockMover, inp: RingReader, port: MessagePort, d: XthreadWorkerData, n: number): Counts {
  let x = seedFor(d.seed, 0, 0);
  const minSize = d.minSize;
  const range = d.range;
  let i = 0;
  while (i < n) {
    inp.waitData(null);
    const m = receiveMessageOnPort(port) as { message: Uint8Array[] } | undefined;
    if (m === undefined) throw new Error(`xthread gc consumer: counted blocks but no message arrived (item ${i})`);
    const blocks = m.message;
    for (let j = 0; j < blocks.length; j++, i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      const size = minSize + umod(x, range);
      const stamp = (x >>> 8) & 255;
      const h = a.put(blocks[j]!);
      const b0 = a.read(h, 0);
      const b1 = a.read(h, size - 1);
      if (b0 !== stamp || b1 !== (stamp ^ STAMP_XOR)) throw patternError(`xthread gc consumer, item ${i}`, h, size, stamp, b0, b1);
      a.free(h);
    }
    inp.advance(blocks.length);
  }
  return { items: n, verified: n, checksum: x };
}

function runProtocol(a: WorkerAllocator, ch: XthreadChannel, d: XthreadWorkerData, n: number, ctl: Int32Array): Counts {
  const ring = new Int32Array(ch.ring);
  const back = ch.back === null ? null : new Int32Array(ch.back);
  if (d.mode === "gc") {
    const mover = a as WorkerAllocator & GcBlockMover;
    return d.role === "producer"
      ? produceGc(mover, new RingWriter(ring, d.Q, d.B, ctl), ch.port!, d, n)
      : consumeGc(mover, new RingReader(ring, d.Q, d.B, ctl), ch.port!, d, n);
  }
  return d.role === "producer"
    ? produce(a, new RingWriter(ring, d.Q, d.B, ctl), back === null ? null : new RingReader(back, d.Q, d.B, ctl), d, n)
    : consume(a, new RingReader(ring, d.Q, d.B, ctl), back === null ? null : new RingWriter(back, d.Q, d.B, ctl), d, n);
}

async function main(d: XthreadWorkerData): Promise<WorkerResult> {
  const ctl = new Int32Array(d.ctl);
  const peer = await loadWorkerPeer(d);
  const warm = await (peer.attachWarm ?? peer.attachPrivate)();
  // Several rounds, so that every path (entry, loop, exit) has run and been optimized with feedback.
  for (const ch of d.warmChannels) runProtocol(warm, ch, d, Math.ceil(d.warmN / d.warmChannels.length), ctl);
  // (xthread: the consumer may still be freeing the producer's warm blocks: they go to the pages
  // the producer's dispose abandoned.)
  warm.dispose();
  const a = await peer.attachRun();
  readyThenGo(ctl);
  const c = runProtocol(a, d.channel, d, d.N, ctl);
  endTimed(ctl, d);
  a.dispose();
  return { type: "result", index: d.index, ops: c.items, verified: c.verified, checksum: c.checksum };
}

const data = workerData as XthreadWorkerData;
workerMain(data.index, data.ctl, () => main(data));
