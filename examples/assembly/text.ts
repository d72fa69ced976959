// A small WebAssembly module in AssemblyScript, for examples/wasm_host.ts. It has no allocator of
// its own: it imports the host's memory and the host heap's malloc and free, so that the blocks
// it returns are hakmem blocks the host reads and frees, and the host's blocks are its input.
//
// Built by examples/wasm_host.ts at run time with the `assemblyscript` package's compiler
// (a devDependency), in memory:
//   asc.compileString({ "text.ts": <this file> }, { runtime: "stub", importMemory: true,
//                                                  optimizeLevel: 2, noAssert: true })
// From a shell, the same: npx asc examples/assembly/text.ts --runtime stub --importMemory -O2
//   --noAssert -o text.wasm
//
// Pointers are byte offsets into the shared memory; lengths are in bytes or elements as named.

@external("env", "malloc") declare function malloc(size: usize): usize;
@external("env", "free") declare function free(ptr: usize): void;

/** Sum of `n` float64 values at `ptr`. */
export function sum(ptr: usize, n: i32): f64 {
  let s: f64 = 0;
  for (let i = 0; i < n; i++) s += load<f64>(ptr + (<usize>i << 3));
  return s;
}

/** Multiplies `n` float64 values at `ptr` by `k`, in place. */
export function scale(ptr: usize, n: i32, k: f64): void {
  for (let i = 0; i < n; i++) {
    const p = ptr + (<usize>i << 3);
    store<f64>(p, load<f64>(p) * k);
  }
}

/** Words (runs of bytes other than ASCII space, tab and newline) in `len` bytes of UTF-8 at `ptr`. */
export function countWords(ptr: usize, len: i32): i32 {
  let words = 0;
  let inWord = false;
  for (let i = 0; i < len; i++) {
    const c = load<u8>(ptr + i);
    const space = c == 32 || c == 9 || c == 10;
    if (!space && !inWord) words++;
    inWord = !space;
  }
  return words;
}

/**
 * A copy of `len` bytes of UTF-8 at `ptr` with ASCII letters in upper case, in a new block from
 * the host's heap (0 when it is full). The caller frees it.
 */
export function upper(ptr: usize, len: i32): usize {
  const out = malloc(<usize>len);
  if (out == 0) return 0;
  for (let i = 0; i < len; i++) {
    let c = load<u8>(ptr + i);
    if (c >= 97 && c <= 122) c -= 32;
    store<u8>(out + i, c);
  }
  return out;
}

/**
 * Counts of each byte value in `len` bytes at `ptr`: a new block of 256 uint32 from the host's
 * heap (0 when it is full). The caller frees it.
 */
export function histogram(ptr: usize, len: i32): usize {
  const counts = malloc(256 * 4);
  if (counts == 0) return 0;
  memory.fill(counts, 0, 256 * 4);
  for (let i = 0; i < len; i++) {
    const slot = counts + (<usize>load<u8>(ptr + i) << 2);
    store<u32>(slot, load<u32>(slot) + 1);
  }
  return counts;
}

/** Frees `n` blocks of the host's heap from inside the module; their pointers (uint32) are at `ptrs`. */
export function freeAll(ptrs: usize, n: i32): void {
  for (let i = 0; i < n; i++) free(load<u32>(ptrs + (<usize>i << 2)));
}
