/**
 * rounds — the "allocate 10 MiB in mixed sizes, free it all" round of reuse.test.ts, run by the
 * main thread and by the workers that take turns (turns_worker.ts).
 */

import type { Heap } from "../../src/index.js";

/** A small seeded generator (LCG), uniform in [0, 1). */
export function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (Math.imul(s, 1103515245) + 12345) | 0;
    return (s >>> 8) / (1 << 24);
  };
}

/**
 * The sizes of one round: 8 large blocks of 256 KiB to 1 MiB, and log-uniform sizes from 8 B to
 * 64 KiB (every small and mid class) up to `bytes` in all.
 */
export function roundSizes(seed: number, bytes: number): number[] {
  const r = rng(seed);
  const sizes: number[] = [];
  let total = 0;
  for (let i = 0; i < 8; i++) {
    const n = 262_144 + Math.floor(r() * 786_432);
    sizes.push(n);
    total += n;
  }
  while (total < bytes) {
    const n = Math.floor(8 * Math.pow(8192, r()));
    sizes.push(n);
    total += n;
  }
  return sizes;
}

function shuffle<T>(a: T[], r: () => number): void {
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
}

/**
 * One round: allocates `sizes` in a shuffled order, stamps each block's first and last 4 bytes
 * with its number, then verifies and frees them in another shuffled order. Throws when a malloc
 * returns 0 or a stamp changed.
 */
export function runRound(heap: Heap, sizes: number[], r: () => number, round: number): void {
  shuffle(sizes, r);
  const blocks: { p: number; n: number; id: number }[] = [];
  for (const n of sizes) {
    const p = heap.malloc(n);
    if (p === 0) throw new Error(`round ${round}: malloc(${n}) returned 0`);
    blocks.push({ p, n, id: (round << 12) ^ blocks.length });
  }
  const dv = new DataView(heap.buffer);
  for (const b of blocks) {
    dv.setInt32(b.p, b.id, true);
    dv.setInt32(b.p + b.n - 4 - (b.n & 3), ~b.id, true);
  }
  shuffle(blocks, r);
  for (const b of blocks) {
    const head = dv.getInt32(b.p, true);
    const tail = dv.getInt32(b.p + b.n - 4 - (b.n & 3), true);
    if (head !== b.id || tail !== ~b.id) {
      throw new Error(`round ${round}: block ${b.p} (${b.n} bytes) lost its stamps: ${head}/${tail}, expected ${b.id}/${~b.id}`);
    }
    heap.free(b.p);
  }
}
