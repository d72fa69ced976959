/**
 * spsc — a single-producer single-consumer ring of int32 values in a SharedArrayBuffer (xthread's
 * pointer hand-over), and the same counters without the values (flow control for the gc peer,
 * whose blocks travel by postMessage).
 *
 * Layout (Int32Array), each control word on its own 64-byte line:
 *   HEAD = 0    values written so far (published by the writer, in batches)
 *   TAIL = 16   values read so far (published by the reader, in batches)
 *   RWAIT = 32  1 while the reader sleeps (Atomics.wait) on HEAD
 *   WWAIT = 48  1 while the writer sleeps on TAIL
 *   DATA = 64   Q slots (Q a power of two); value i lives in slot i mod Q
 * Protocol: the writer stores values with plain writes and publishes HEAD with Atomics.store every
 * B values (B a power of two dividing Q) and whenever it must wait; the reader likewise for TAIL.
 * Publishing then reading the other side's WAIT flag, against setting the flag then re-reading
 * the index before Atomics.wait (all sequentially consistent), means a sleeper is always woken.
 * A waiter first spins (SPIN reads) and then sleeps with a timeout (so a lost wake-up would show
 * as slowness, never as a hang); while it waits it calls `idle.idle()` (xthread_local's producer
 * frees the blocks handed back to it meanwhile, so that the two workers cannot wait on each
 * other). `idle` is an object with a method rather than a closure, so that warm-up and timed run
 * call the same target (V8 deoptimizes on a new closure).
 * The local counters are int32 and wrap; only differences are compared.
 */

import { Ctl } from "./protocol.js";

export const enum Ring {
  HEAD = 0,
  TAIL = 16,
  RWAIT = 32,
  WWAIT = 48,
  DATA = 64,
}

/** What a waiting side does meanwhile. */
export interface Idle {
  idle(): void;
}

const SPIN = 256;
const SLEEP_MS = 20;

/** Bytes of a ring of capacity `q`. */
export function ringBytes(q: number): number {
  return (Ring.DATA + q) * 4;
}

function checkFailed(ctl: Int32Array): void {
  if (Atomics.load(ctl, Ctl.ERROR) !== 0) throw new Error("another worker failed");
}

export class RingWriter {
  private head = 0;
  private tailSeen = 0;
  private readonly mask: number;
  private readonly bmask: number;

  constructor(
    private readonly i32: Int32Array,
    private readonly q: number,
    b: number,
    private readonly ctl: Int32Array,
  ) {
    this.mask = q - 1;
    this.bmask = b - 1;
  }

  /** Appends `v`, waiting (and calling `idle`) while the ring is full. */
  push(v: number, idle: Idle | null): void {
    if (this.head - this.tailSeen >= this.q) this.waitSpace(1, idle);
    const h = this.head;
    this.i32[Ring.DATA + (h & this.mask)] = v;
    this.head = h + 1;
    if ((this.head & this.bmask) === 0) this.publish();
  }

  /** Counts `n` values written without storing any (the gc peer sends them by postMessage). */
  advance(n: number): void {
    this.head = (this.head + n) | 0;
    this.publish();
  }

  /** Waits (calling `idle`) until `n` more values fit. */
  waitSpace(n: number, idle: Idle | null): void {
    this.publish();
    const i32 = this.i32;
    for (let s = 0; s < SPIN; s++) {
      this.tailSeen = Atomics.load(i32, Ring.TAIL);
      if (this.head - this.tailSeen <= this.q - n) return;
      if (idle !== null) idle.idle();
    }
    for (;;) {
      Atomics.store(i32, Ring.WWAIT, 1);
      const t = Atomics.load(i32, Ring.TAIL);
      this.tailSeen = t;
      if (this.head - t <= this.q - n) break;
      if (idle !== null) idle.idle(); // whatever the reader handed back meanwhile
      Atomics.wait(i32, Ring.TAIL, t, SLEEP_MS);
      checkFailed(this.ctl);
    }
    Atomics.store(i32, Ring.WWAIT, 0);
  }

  /** Makes every value written so far visible to the reader (and wakes it if it sleeps). */
  publish(): void {
    Atomics.store(this.i32, Ring.HEAD, this.head);
    if (Atomics.load(this.i32, Ring.RWAIT) !== 0) Atomics.notify(this.i32, Ring.HEAD);
  }
}

export class RingReader {
  private tail = 0;
  private headSeen = 0;
  private readonly mask: number;
  private readonly bmask: number;

  constructor(
    private readonly i32: Int32Array,
    q: number,
    b: number,
    private readonly ctl: Int32Array,
  ) {
    this.mask = q - 1;
    this.bmask = b - 1;
  }

  /** The next value, waiting while the ring is empty. */
  pop(): number {
    if (this.tail === this.headSeen) this.waitData(null);
    const t = this.tail;
    const v = this.i32[Ring.DATA + (t & this.mask)]!;
    this.tail = t + 1;
    if ((this.tail & this.bmask) === 0) this.publish();
    return v;
  }

  /** Values published and not read yet (without waiting). */
  available(): number {
    if (this.tail === this.headSeen) this.headSeen = Atomics.load(this.i32, Ring.HEAD);
    return (this.headSeen - this.tail) | 0;
  }

  /** Counts `n` values read without loading them (gc peer). */
  advance(n: number): void {
    this.tail = (this.tail + n) | 0;
    this.publish();
  }

  /** Waits (calling `idle`) until at least one value is published; returns how many are. */
  waitData(idle: Idle | null): number {
    this.publish();
    const i32 = this.i32;
    for (let s = 0; s < SPIN; s++) {
      this.headSeen = Atomics.load(i32, Ring.HEAD);
      if (this.headSeen !== this.tail) return (this.headSeen - this.tail) | 0;
      if (idle !== null) idle.idle();
    }
    for (;;) {
      Atomics.store(i32, Ring.RWAIT, 1);
      const h = Atomics.load(i32, Ring.HEAD);
      this.headSeen = h;
      if (h !== this.tail) break;
      if (idle !== null) idle.idle();
      Atomics.wait(i32, Ring.HEAD, h, SLEEP_MS);
      checkFailed(this.ctl);
    }
    Atomics.store(i32, Ring.RWAIT, 0);
    return (this.headSeen - this.tail) | 0;
  }

  /** Makes every value read so far reusable by the writer (and wakes it if it sleeps). */
  publish(): void {
    Atomics.store(this.i32, Ring.TAIL, this.tail);
    if (Atomics.load(this.i32, Ring.WWAIT) !== 0) Atomics.notify(this.i32, Ring.TAIL);
  }
}
