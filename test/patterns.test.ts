/**
 * The test helper of patterns.ts: the pattern verifies where it was written, and does not verify
 * for another id, a shifted copy, zeros, or a single flipped byte — so that a test which relies on
 * it to see corruption can see it.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { assertPattern, fillPattern, findNonZero, findPatternMismatch } from "./patterns.js";

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
