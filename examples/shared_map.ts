/**
 * shared_map — a hash map that lives in the heap, used by several worker_threads at once.
 *
 *   npm run build && npm run build:dev       (or npm run examples: all three, at full size)
 *   node build/examples/shared_map.js [--workers T] [--words N] [--vocabulary V] [--seed S]
 *
 * The map (class SharedMap below) is a table of buckets with string keys and float64 values;
 * every entry is a heap block holding its key's UTF-8 bytes, and a bucket's lock word sits next
 * to its head pointer. The main thread creates it and posts to each worker the heap's handle
 * and two pointers: the map's and a barrier's (an int32 in the heap). Each worker attaches to
 * the heap, counts the words of its share of a generated text into the map (`add(word, 1)`:
 * entries are allocated by whichever worker meets a word first), waits at the barrier until
 * every worker has counted, deletes the word its share starts with, and disposes. The main
 * thread then checks every count against a count it made alone, deletes every remaining entry
 * (freeing blocks that workers allocated: cross-worker frees), frees the map, and checks that
 * the heap is empty and consistent. Exits 1 with the first difference.
 *
 * What it shows: a structure built of heap blocks and pointers, not JS objects, needs no
 * copying or serialising to be shared; any worker may free any block; Atomics on the heap's
 * memory serialise the writers; and views are re-made after another worker grew the heap.
 */

import { parseArgs } from "node:util";
import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { attachHeap, createHeap, type Heap, type HeapHandle } from "hakmem";

const USAGE = `usage: node build/examples/shared_map.js [--workers T] [--words N] [--vocabulary V] [--seed S]
  --workers T      worker threads (default 4)
  --words N        words in the generated text (default 200000)
  --vocabulary V   distinct words it draws from (default 50000)
  --seed S         seed of the text (default 1)
  --help           this text`;

/**
 * A string → float64 map in heap memory, safe to use from every worker attached to the heap.
 *
 * Layout (byte offsets; every field is 4 bytes unless said):
 * - map block: [0] bucket count (a power of two), [4] entry count, [8] pointer to the buckets;
 * - buckets: per bucket two int32 words, [lock (see lock()), head pointer];
 * - entry block: [0] next entry, [4] key hash, [8] value (float64), [16] key length in bytes,
 *   [20…] key bytes (UTF-8).
 * A bucket's lock guards its chain; lookups take it too, since another worker
 * may free an entry meanwhile. The entry count is changed with Atomics.add.
 */
class SharedMap {
  private readonly heap: Heap;
  /** Pointer to the map block: what other workers need, with the heap's handle, to use the map. */
  readonly ptr: number;
  private readonly buckets: number;
  private readonly mask: number;
  // Views over the whole heap, re-made when the heap's buffer grows (heap.u8 changes then).
  private u8: Uint8Array = new Uint8Array(0);
  private i32: Int32Array = new Int32Array(0);
  private f64: Float64Array = new Float64Array(0);
  private readonly key = new Uint8Array(1024);
  private readonly encoder = new TextEncoder();

  private constructor(heap: Heap, ptr: number) {
    this.heap = heap;
    this.ptr = ptr;
    this.views();
    this.mask = this.i32[ptr >>> 2]! - 1;
    this.buckets = this.i32[(ptr >>> 2) + 2]!;
  }

  /** A new, empty map with `buckets` buckets (a power of two). Null when the heap is full. */
  static create(heap: Heap, buckets: number): SharedMap | null {
    const header = heap.callocAs(Int32Array, 4);
    const table = heap.callocAs(Int32Array, 2 * buckets);
    if (header === null || table === null) {
      heap.freeView(header);
      heap.freeView(table);
      return null;
    }
    header[0] = buckets;
    header[2] = table.byteOffset;
    return new SharedMap(heap, header.byteOffset);
  }

  /** The map at `ptr`, created by another worker on the same heap. */
  static attach(heap: Heap, ptr: number): SharedMap {
    return new SharedMap(heap, ptr);
  }

  get size(): number {
    return Atomics.load(this.i32, (this.ptr >>> 2) + 1);
  }

  /** Adds `delta` to the value of `key` (a new key starts at 0). False when the heap is full. */
  add(key: string, delta: number): boolean {
    const len = this.encodeKey(key);
    const hash = this.hash(len);
    const bucket = this.lock(hash);
    try {
      const e = this.find(bucket, hash, len);
      if (e !== 0) {
        this.f64[(e + 8) >>> 3] = this.f64[(e + 8) >>> 3]! + delta;
        return true;
      }
      const p = this.heap.malloc(20 + len);
      if (p === 0) return false;
      this.views(); // the malloc may have grown the heap
      const w = p >>> 2;
      this.i32[w] = this.i32[bucket + 1]!;
      this.i32[w + 1] = hash;
      this.f64[(p + 8) >>> 3] = delta;
      this.i32[w + 4] = len;
      this.u8.set(this.key.subarray(0, len), p + 20);
      this.i32[bucket + 1] = p;
      Atomics.add(this.i32, (this.ptr >>> 2) + 1, 1);
      return true;
    } finally {
      this.unlock(bucket);
    }
  }

  /** The value of `key`, or undefined. */
  get(key: string): number | undefined {
    const len = this.encodeKey(key);
    const hash = this.hash(len);
    const bucket = this.lock(hash);
    try {
      const e = this.find(bucket, hash, len);
      return e === 0 ? undefined : this.f64[(e + 8) >>> 3];
    } finally {
      this.unlock(bucket);
    }
  }

  /** Removes `key` and frees its entry; false when it was not there. */
  delete(key: string): boolean {
    const len = this.encodeKey(key);
    const hash = this.hash(len);
    const bucket = this.lock(hash);
    try {
      let link = bucket + 1; // word index of the pointer to the entry being looked at
      for (let e = this.i32[link]!; e !== 0; link = e >>> 2, e = this.i32[link]!) {
        if (this.matches(e, hash, len)) {
          this.i32[link] = this.i32[e >>> 2]!;
          this.heap.free(e); // maybe another worker's block: any worker may free any block
          Atomics.sub(this.i32, (this.ptr >>> 2) + 1, 1);
          return true;
        }
      }
      return false;
    } finally {
      this.unlock(bucket);
    }
  }

  /** Every entry, bucket by bucket (call it while no other worker changes the map). */
  *entries(): Generator<[string, number]> {
    for (let b = 0; b <= this.mask; b++) {
      this.views();
      for (let e = this.i32[(this.buckets >>> 2) + 2 * b + 1]!; e !== 0; e = this.i32[e >>> 2]!) {
        yield [this.heap.readString(e + 20, this.i32[(e >>> 2) + 4]!), this.f64[(e + 8) >>> 3]!];
      }
    }
  }

  /** Frees every entry and the map itself. */
  destroy(): void {
    for (const [key] of [...this.entries()]) this.delete(key);
    this.heap.free(this.buckets);
    this.heap.free(this.ptr);
  }

  /** Re-makes the views when the heap's buffer has grown (by this worker or another). */
  private views(): void {
    const u8 = this.heap.u8;
    if (u8 === this.u8) return;
    this.u8 = u8;
    this.i32 = new Int32Array(u8.buffer, u8.byteOffset, u8.length >>> 2);
    this.f64 = new Float64Array(u8.buffer, u8.byteOffset, u8.length >>> 3);
  }

  /** Writes the key's UTF-8 bytes into `this.key`; returns their count. */
  private encodeKey(key: string): number {
    const { read, written } = this.encoder.encodeInto(key, this.key);
    if (read !== key.length) throw new RangeError(`SharedMap: key longer than ${this.key.length} bytes: ${key.slice(0, 40)}…`);
    return written;
  }

  /** FNV-1a over the encoded key. */
  private hash(len: number): number {
    let h = 0x811c9dc5 | 0;
    for (let i = 0; i < len; i++) h = Math.imul(h ^ this.key[i]!, 0x01000193);
    return h;
  }

  /**
   * Takes the lock of the bucket for `hash`; returns the bucket's word index. The lock word is 0
   * (free), 1 (taken) or 2 (taken, and someone may be waiting): a futex mutex in the manner of
   * Drepper's "Futexes are tricky", so that an unlock calls notify only when someone waits.
   */
  private lock(hash: number): number {
    this.views(); // the bucket table lies in memory every view covers, but keep them current
    const i32 = this.i32;
    const bucket = (this.buckets >>> 2) + 2 * (hash & this.mask);
    let c = Atomics.compareExchange(i32, bucket, 0, 1);
    while (c !== 0) {
      if (c === 2 || Atomics.compareExchange(i32, bucket, 1, 2) !== 0) Atomics.wait(i32, bucket, 2);
      c = Atomics.compareExchange(i32, bucket, 0, 2);
    }
    // Entries another worker linked in may lie in memory it grew the heap by: after the lock
    // (which orders its writes before our reads), take in any growth.
    this.views();
    return bucket;
  }

  private unlock(bucket: number): void {
    if (Atomics.sub(this.i32, bucket, 1) !== 1) {
      Atomics.store(this.i32, bucket, 0);
      Atomics.notify(this.i32, bucket, 1);
    }
  }

  /** The entry of the encoded key in the chain of `bucket`, or 0. */
  private find(bucket: number, hash: number, len: number): number {
    for (let e = this.i32[bucket + 1]!; e !== 0; e = this.i32[e >>> 2]!) if (this.matches(e, hash, len)) return e;
    return 0;
  }

  private matches(e: number, hash: number, len: number): boolean {
    const w = e >>> 2;
    if (this.i32[w + 1] !== hash || this.i32[w + 4] !== len) return false;
    for (let i = 0; i < len; i++) if (this.u8[e + 20 + i] !== this.key[i]) return false;
    return true;
  }
}

/** The generated text: word i of the whole text, drawn from `vocabulary` words (deterministic). */
function wordAt(i: number, vocabulary: number, seed: number): string {
  let h = Math.imul(i ^ Math.imul(seed, 0x9e3779b9), 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  // Skewed like real text: low word numbers are frequent. Some words are not ASCII.
  const n = Math.floor(((h >>> 0) / 4294967296) ** 3 * vocabulary);
  return n % 7 === 0 ? `wört-${n}` : `word-${n}`;
}

interface Job {
  handle: HeapHandle;
  map: number;
  /** Pointer to an int32 in the heap: how many workers have finished counting. */
  barrier: number;
  workers: number;
  from: number;
  to: number;
  vocabulary: number;
  seed: number;
}

/** A worker: count its share of the words, wait for the others, delete the first word of its share. */
function work(job: Job): void {
  const heap = attachHeap(job.handle);
  const map = SharedMap.attach(heap, job.map);
  for (let i = job.from; i < job.to; i++) {
    if (!map.add(wordAt(i, job.vocabulary, job.seed), 1)) throw new Error("heap full");
  }
  // A barrier in the heap, so that no word is deleted while another worker still counts it.
  const barrier = heap.view(Int32Array, job.barrier, 1);
  Atomics.add(barrier, 0, 1);
  Atomics.notify(barrier, 0);
  for (let done = Atomics.load(barrier, 0); done < job.workers; done = Atomics.load(barrier, 0)) Atomics.wait(barrier, 0, done);
  // Every worker deletes the word its share starts with (several may try the same word).
  const deleted = map.delete(wordAt(job.from, job.vocabulary, job.seed));
  heap.dispose();
  parentPort!.postMessage({ deleted });
}

/** The command line's options; null for --help. Throws on anything else it cannot use. */
function readOptions(): { workers: number; words: number; vocabulary: number; seed: number } | null {
  const { values } = parseArgs({
    options: {
      workers: { type: "string", default: "4" },
      words: { type: "string", default: "200000" },
      vocabulary: { type: "string", default: "50000" },
      seed: { type: "string", default: "1" },
      help: { type: "boolean", default: false },
    },
  });
  if (values.help) return null;
  const integer = (name: "workers" | "words" | "vocabulary" | "seed", min: number): number => {
    const v = Number(values[name]);
    if (!Number.isSafeInteger(v) || v < min) throw new RangeError(`--${name} takes an integer from ${min}, got ${JSON.stringify(values[name])}`);
    return v;
  };
  return { workers: integer("workers", 1), words: integer("words", 1), vocabulary: integer("vocabulary", 1), seed: integer("seed", 0) };
}

async function main(): Promise<number> {
  let options;
  try {
    options = readOptions();
  } catch (e) {
    console.error(`shared_map: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }
  const { workers, words, vocabulary, seed } = options;

  // A small first segment, so that the workers grow the heap while the others use it.
  const heap = createHeap({ initialBytes: 1 << 20, maxBytes: 512 << 20 });
  const growthsBefore = heap.stats().growths;
  const map = SharedMap.create(heap, 16384);
  const barrier = heap.callocAs(Int32Array, 1);
  if (map === null || barrier === null) throw new Error("heap full");
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: workers }, (_, w) => {
      const job: Job = {
        handle: heap.handle(), map: map.ptr, barrier: barrier.byteOffset, workers, vocabulary, seed,
        from: Math.floor((w * words) / workers), to: Math.floor(((w + 1) * words) / workers),
      };
      const worker = new Worker(new URL(import.meta.url), { workerData: job });
      return new Promise<{ deleted: boolean }>((resolve, reject) => {
        worker.once("message", resolve);
        worker.once("error", reject);
        worker.once("exit", (code) => reject(new Error(`worker ${w} exited with code ${code} before reporting`)));
      });
    }),
  );
  const ms = performance.now() - t0;

  // The same counts, made alone in plain JS.
  const expected = new Map<string, number>();
  for (let i = 0; i < words; i++) {
    const word = wordAt(i, vocabulary, seed);
    expected.set(word, (expected.get(word) ?? 0) + 1);
  }
  for (let w = 0; w < workers; w++) expected.delete(wordAt(Math.floor((w * words) / workers), vocabulary, seed));

  const got = new Map(map.entries());
  for (const [word, count] of expected) {
    if (got.get(word) !== count || map.get(word) !== count) {
      console.error(`shared_map: FAIL: "${word}" counted ${got.get(word)} times in the map, ${count} times alone`);
      return 1;
    }
  }
  if (got.size !== expected.size || map.size !== expected.size) {
    console.error(`shared_map: FAIL: the map holds ${got.size} entries (size ${map.size}), expected ${expected.size}`);
    return 1;
  }
  const deletions = results.filter((r) => r.deleted).length;
  const grown = heap.stats().growths - growthsBefore;
  map.destroy(); // frees entries allocated by the workers
  heap.freeView(barrier);
  const s = heap.stats();
  const problems = heap.check().problems;
  if (s.liveBlocks !== 0 || problems.length > 0) {
    console.error(`shared_map: FAIL: after destroy, ${s.liveBlocks} blocks live; check(): ${problems.map((p) => p.message).join("; ")}`);
    return 1;
  }
  console.log(
    `shared_map: ${workers} workers counted ${words} words into one map in the heap in ${ms.toFixed(0)} ms ` +
      `(${expected.size} distinct words left after ${deletions} deletions; the heap grew ${grown} times meanwhile)`,
  );
  console.log("shared_map: OK (every count equals a count made alone; after destroy the heap is empty and check() is clean)");
  return 0;
}

if (isMainThread) process.exitCode = await main();
else work(workerData as Job);
