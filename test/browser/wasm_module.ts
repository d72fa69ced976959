/**
 * wasm_module — the bytes of a small WebAssembly module that works on a heap's shared memory, for
 * the browser tests' shared-Memory case. Written out here (a dozen instructions) rather than
 * compiled, so the test needs no toolchain. In the text format:
 *
 * ```wat
 * (module
 *   (import "env" "memory" (memory 1 16384 shared))
 *   (import "env" "malloc" (func $malloc (param i32) (result i32)))
 *   ;; the sum of the n bytes at p
 *   (func (export "sum") (param $p i32) (param $n i32) (result i32) (local $s i32)
 *     (block (loop
 *       (br_if 1 (i32.eqz (local.get $n)))
 *       (local.set $s (i32.add (local.get $s) (i32.load8_u (local.get $p))))
 *       (local.set $p (i32.add (local.get $p) (i32.const 1)))
 *       (local.set $n (i32.sub (local.get $n) (i32.const 1)))
 *       (br 0)))
 *     (local.get $s))
 *   ;; a copy of the n bytes at p in a block from the host's malloc
 *   (func (export "dup") (param $p i32) (param $n i32) (result i32) (local $q i32)
 *     (memory.copy (local.tee $q (call $malloc (local.get $n))) (local.get $p) (local.get $n))
 *     (local.get $q)))
 * ```
 */

/** Pages (64 KiB) the module's memory import may grow to. */
export const MAX_PAGES = 16384;

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

const name = (s: string): number[] => [...uleb(s.length), ...[...s].map((c) => c.charCodeAt(0))];
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];

const I32 = 0x7f;
const FUNC_TYPE = 0x60;
const op = {
  block: 0x02, loop: 0x03, end: 0x0b, br: 0x0c, brIf: 0x0d, call: 0x10,
  localGet: 0x20, localSet: 0x21, localTee: 0x22, load8u: 0x2d, i32Const: 0x41,
  eqz: 0x45, add: 0x6a, sub: 0x6b, void: 0x40,
} as const;

/** The module's bytes. Imports env.memory (shared, 1..MAX_PAGES pages) and env.malloc. */
export function heapToolsWasm(): Uint8Array {
  const types = vec([
    [FUNC_TYPE, ...vec([[I32]]), ...vec([[I32]])], // 0: (i32) -> i32
    [FUNC_TYPE, ...vec([[I32], [I32]]), ...vec([[I32]])], // 1: (i32, i32) -> i32
  ]);
  const imports = vec([
    [...name("env"), ...name("memory"), 0x02, 0x03, ...uleb(1), ...uleb(MAX_PAGES)], // shared, min, max
    [...name("env"), ...name("malloc"), 0x00, 0x00],
  ]);
  const functions = vec([[0x01], [0x01]]);
  const exports = vec([
    [...name("sum"), 0x00, 0x01],
    [...name("dup"), 0x00, 0x02],
  ]);
  const P = 0, N = 1, L = 2;
  const sum = [
    op.block, op.void, op.loop, op.void,
    op.localGet, N, op.eqz, op.brIf, 1,
    op.localGet, L, op.localGet, P, op.load8u, 0, 0, op.add, op.localSet, L,
    op.localGet, P, op.i32Const, 1, op.add, op.localSet, P,
    op.localGet, N, op.i32Const, 1, op.sub, op.localSet, N,
    op.br, 0, op.end, op.end,
    op.localGet, L, op.end,
  ];
  const dup = [
    op.localGet, N, op.call, 0, op.localTee, L,
    op.localGet, P, op.localGet, N, 0xfc, 0x0a, 0x00, 0x00, // memory.copy 0 0
    op.localGet, L, op.end,
  ];
  const body = (code: number[]): number[] => {
    const b = [...vec([[1, I32]]), ...code];
    return [...uleb(b.length), ...b];
  };
  const code = vec([body(sum), body(dup)]);
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, functions), ...section(7, exports), ...section(10, code),
  ]);
}
