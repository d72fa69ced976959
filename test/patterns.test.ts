/**
 * The test helper of patterns.ts: the pattern verifies where it was written, and does not verify
 * for another id, a shifted copy, zeros, or a single flipped byte — so that a test which relies on
 * it to see corruption can see it. The sparse pattern: the bytes it covers are those of the full
 * pattern, a change to any of them shows, a prefix verifies, a shifted copy does not.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import {
  SPARSE_HEAD, SPARSE_STRIDE, SPARSE_TAIL, assertPattern, fillPattern, fillSparse, findNonZero, findPatternMismatch, findSparseMismatch,
} from "./patterns.js";

test("patterns: a filled block verifies, for aligned and unaligned starts and any length", () => {
  const u8 = new Uint8Array(4096);
  for (const p of [0, 1, 3, 8, 16, 1000]) {
    for (const n of [0, 1, 3, 4, 5, 8, 63, 64, 1000]) {
      u8.fill(0);
      fillPattern(u8, p, n, 7);
      assert.equal(findPatternMismatch(u8, p, n, 7), -1, `p=${p} n=${n}`);
      assert.doesNotThrow(() => assertPattern(u8, p, n, 7));
      // Nothing outside [p, p + n) was written.
      assert.equal(findNonZero(u8, 0, p), -1);
      assert.equal(findNonZero(u8, p + n, u8.length - p - n), -1);
    }
  }
});

test("patterns: another id, a shifted copy, zeros and one flipped byte do not verify", () => {
  const u8 = new Uint8Array(1024);
  fillPattern(u8, 16, 256, 1);
  assert.equal(findPatternMismatch(u8, 16, 256, 2), 0, "another id differs from the first byte on");
  assert.notEqual(findPatternMismatch(u8, 24, 200, 1), -1, "a shifted window does not verify");
  assert.equal(findPatternMismatch(u8, 300, 16, 1), 0, "zeros do not verify");
  for (const k of [0, 3, 4, 100, 255]) {
    u8[16 + k]! ^= 0x40;
    assert.equal(findPatternMismatch(u8, 16, 256, 1), k);
    assert.throws(() => assertPattern(u8, 16, 256, 1), new RegExp(`byte ${k} `));
    u8[16 + k]! ^= 0x40;
  }
  // Unaligned start: the byte path sees the same corruption.
  fillPattern(u8, 501, 50, 3);
  u8[501 + 17]! ^= 1;
  assert.equal(findPatternMismatch(u8, 501, 50, 3), 17);
  // Distinct ids give distinct first words (no two of the first 10000 ids collide).
  const firsts = new Set<bigint>();
  const probe = new Uint8Array(8);
  for (let id = 0; id < 10000; id++) {
    fillPattern(probe, 0, 8, id);
    firsts.add(new DataView(probe.buffer).getBigUint64(0));
  }
  assert.equal(firsts.size, 10000);
});

test("findNonZero finds the first non-zero byte", () => {
  const u8 = new Uint8Array(100);
  assert.equal(findNonZero(u8, 0, 100), -1);
  u8[42] = 1;
  assert.equal(findNonZero(u8, 10, 90), 32);
  assert.equal(findNonZero(u8, 43, 57), -1);
});

test("sparse patterns: cover the ends whole and one word in 16 between, as the full pattern does", () => {
  const u8 = new Uint8Array(1 << 16);
  const full = new Uint8Array(1 << 16);
  for (const p of [0, 8, 16, 1001]) {
    for (const n of [0, 5, 64, SPARSE_HEAD + SPARSE_TAIL, SPARSE_HEAD + SPARSE_TAIL + 1, 1000, 4099, 20_000]) {
      u8.fill(0);
      fillSparse(u8, p, n, 9);
      fillPattern(full, p, n, 9);
      assert.equal(findSparseMismatch(u8, p, n, 9), -1, `p=${p} n=${n}`);
      assert.equal(findNonZero(u8, p + n, u8.length - p - n), -1, "nothing written past the block");
      const covered = (k: number): boolean =>
        n <= SPARSE_HEAD + SPARSE_TAIL || k < SPARSE_HEAD || k >= n - SPARSE_TAIL ||
        ((k - SPARSE_HEAD) % (4 * SPARSE_STRIDE) < 4 && k - ((k - SPARSE_HEAD) % (4 * SPARSE_STRIDE)) + 4 <= n - SPARSE_TAIL);
      for (let k = 0; k < n; k++) {
        if (covered(k)) assert.equal(u8[p + k], full[p + k], `p=${p} n=${n}: byte ${k} as in the full pattern`);
      }
      for (const k of [0, n >> 1, n - 1, SPARSE_HEAD, SPARSE_HEAD + 4 * SPARSE_STRIDE + 3].filter((k) => k >= 0 && k < n)) {
        u8[p + k]! ^= 0x10;
        assert.equal(findSparseMismatch(u8, p, n, 9), covered(k) ? k : -1, `p=${p} n=${n}: flip at ${k}`);
        // A prefix that ends before the flip verifies; one that includes it does not.
        assert.equal(findSparseMismatch(u8, p, n, 9, k), -1);
        if (covered(k)) assert.equal(findSparseMismatch(u8, p, n, 9, k + 1), k);
        u8[p + k]! ^= 0x10;
      }
    }
  }
  fillSparse(u8, 64, 5000, 3);
  assert.notEqual(findSparseMismatch(u8, 72, 4990, 3), -1, "a shifted window does not verify");
  assert.notEqual(findSparseMismatch(u8, 64, 5000, 4), -1, "another id does not verify");
  u8.copyWithin(8192, 64, 64 + 5000);
  assert.equal(findSparseMismatch(u8, 8192, 5000, 3), -1, "a copy verifies at its new address");
});
