/**
 * wasm_host — a JavaScript host and a WebAssembly module sharing one hakmem heap: strings and
 * arrays cross the boundary as pointers into the module's memory, without copies.
 *
 *   npm run build && npm run build:dev       (or npm run examples: all three, at full size)
 *   node build/examples/wasm_host.js [--elements N]
 *
 * The module is examples/assembly/text.ts, compiled here from source with AssemblyScript's
 * compiler (the `assemblyscript` devDependency; the header of that file gives the command for a
 * shell). It imports the host's WebAssembly.Memory and the heap's `malloc` and `free`, so both
 * sides allocate from one heap:
 * - host → module: an array made with `heap.mallocAs(Float64Array, n)` is summed and scaled in
 *   place by the module (`sum`, `scale`); a string copied in with `heap.allocString` is read by
 *   the module (`countWords`);
 * - module → host: the module allocates a block with the heap's malloc and returns its pointer;
 *   the host reads it (`heap.readString`, `heap.view`) and frees it (`upper`, `histogram`), and
 *   the module frees blocks the host allocated (`freeAll`);
 * - growth: a large array makes the heap grow the memory; the module sees the new pages at once,
 *   and the host re-makes its views (the old buffer of a non-shared memory is detached).
 * Every result is checked against the same computation in JS; the heap must end empty and pass
 * heap.check(). Exits 1 at the first difference.
 */

import { readFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { createHeap } from "hakmem";

const USAGE = `usage: node build/examples/wasm_host.js [--elements N]
  --elements N   length of the float64 array sent to the module (default 100000)
  --help         this text`;

/** The module's exports (examples/assembly/text.ts). Pointers are i32: read them with >>> 0. */
interface TextModule {
  sum(ptr: number, n: number): number;
  scale(ptr: number, n: number, k: number): void;
  countWords(ptr: number, len: number): number;
  upper(ptr: number, len: number): number;
  histogram(ptr: number, len: number): number;
  freeAll(ptrs: number, n: number): void;
}

const SOURCE = new URL("../../examples/assembly/text.ts", import.meta.url);

async function compileModule(): Promise<{ module: WebAssembly.Module; ms: number }> {
  const t0 = performance.now();
  const asc = (await import("assemblyscript/asc")).default;
  const result = await asc.compileString(
    { "text.ts": await readFile(SOURCE, "utf8") },
    { runtime: "stub", importMemory: true, optimizeLevel: 2, noAssert: true },
  );
  if (result.error !== null || result.binary === null) {
    throw new Error(`AssemblyScript could not compile ${SOURCE.pathname}: ${result.error?.message}\n${result.stderr.toString()}`);
  }
  return { module: await WebAssembly.compile(result.binary as Uint8Array<ArrayBuffer>), ms: performance.now() - t0 };
}

function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(what);
}

/** The command line's options; null for --help. Throws on anything else it cannot use. */
function readOptions(): { elements: number } | null {
  const { values } = parseArgs({ options: { elements: { type: "string", default: "100000" }, help: { type: "boolean", default: false } } });
  if (values.help) return null;
  const elements = Number(values.elements);
  if (!Number.isSafeInteger(elements) || elements < 1) throw new RangeError(`--elements takes a positive integer, got ${JSON.stringify(values.elements)}`);
  return { elements };
}

async function main(): Promise<number> {
  let options;
  try {
    options = readOptions();
  } catch (e) {
    console.error(`wasm_host: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (options === null) {
    console.log(USAGE);
    return 0;
  }
  const n = options.elements;

  const { module, ms } = await compileModule();
  // One memory for both. The module keeps no data of its own in memory, so the heap may start at
  // byte 0; a C or Rust module's heap would start past its data and stack (its __heap_base).
  const memory = new WebAssembly.Memory({ initial: 1, maximum: 16384 });
  const heap = createHeap({ buffer: memory, base: 0 });
  const instance = await WebAssembly.instantiate(module, {
    env: {
      memory,
      // wasm passes pointers and sizes as i32: >>> 0 reads them as the uint32 they are.
      malloc: (size: number) => heap.malloc(size >>> 0),
      free: (ptr: number) => heap.free(ptr >>> 0),
    },
  });
  const wasm = instance.exports as unknown as TextModule;
  console.log(`wasm_host: compiled examples/assembly/text.ts with AssemblyScript in ${ms.toFixed(0)} ms; one heap in the module's memory`);

  // An array from the host, summed and scaled in place by the module.
  const xs = heap.mallocAs(Float64Array, n);
  if (xs === null) throw new Error("heap full");
  for (let i = 0; i < n; i++) xs[i] = i * 0.5;
  const sum = wasm.sum(xs.byteOffset, n);
  check(sum === xs.reduce((a, b) => a + b, 0), `sum: the module says ${sum}`);
  wasm.scale(xs.byteOffset, n, 2);
  check(xs[n - 1] === (n - 1) * 0.5 * 2, `scale: the host's view reads ${xs[n - 1]} at the end`);
  console.log(`  array:  Float64Array(${n}) at ${xs.byteOffset}: the module summed it (${sum}) and doubled it in place`);

  // A string from the host, read by the module; a string from the module, read by the host.
  const text = "Grüße aus JavaScript, hello from the host — strings cross as UTF-8 bytes";
  const s = heap.allocString(text);
  if (s === null) throw new Error("heap full");
  const words = wasm.countWords(s.ptr, s.len);
  check(words === text.split(/[ \t\n]+/).filter((w) => w !== "").length, `countWords: the module counted ${words}`);
  const up = wasm.upper(s.ptr, s.len) >>> 0;
  check(up !== 0, "upper: the module's malloc found the heap full");
  const upText = heap.readString(up, s.len);
  check(upText === text.replace(/[a-z]/g, (c) => c.toUpperCase()), `upper: read back ${JSON.stringify(upText)}`);
  console.log(`  string: ${s.len} bytes in, ${words} words counted by the module; its upper-case copy, allocated by the module: "${upText.slice(0, 30)}…"`);

  // A block the module allocated, viewed and freed by the host.
  const counts = heap.view(Uint32Array, wasm.histogram(s.ptr, s.len) >>> 0, 256);
  const expected = new Uint32Array(256);
  for (const byte of new TextEncoder().encode(text)) expected[byte]!++;
  check(counts.every((c, i) => c === expected[i]), "histogram: the counts differ");
  heap.freeView(counts);
  heap.free(up);

  // Growth: a large array makes the heap grow the memory. The module sees the new pages at once.
  // The memory is not shared, so growing it detaches its old buffer and every view over it: the
  // host keeps pointers, and re-makes views from them after any allocation.
  const before = memory.buffer.byteLength;
  const xsPtr = xs.byteOffset;
  const big = heap.mallocAs(Float64Array, 4 * n);
  if (big === null) throw new Error("heap full");
  check(memory.buffer.byteLength > before, "the memory did not grow");
  check(xs.length === 0, "the old view is still attached");
  big.fill(1);
  check(wasm.sum(big.byteOffset, big.length) === big.length, "sum over the grown memory");
  const again = heap.view(Float64Array, xsPtr, n);
  check(again[n - 1] === (n - 1) * 0.5 * 2, "the first array changed across growth");
  console.log(`  growth: the heap grew the memory from ${before >> 16} to ${memory.buffer.byteLength >> 16} pages of 64 KiB; the module summed a Float64Array(${big.length}) in the new pages`);

  // The module frees blocks the host allocated: their pointers in a Uint32Array. (Read before
  // the mallocAs below, which may grow the memory again and detach `big`.)
  const blocks = [xsPtr, big.byteOffset, s.ptr];
  const ptrs = heap.mallocAs(Uint32Array, blocks.length);
  if (ptrs === null) throw new Error("heap full");
  ptrs.set(blocks);
  wasm.freeAll(ptrs.byteOffset, blocks.length);
  heap.freeView(ptrs);

  const st = heap.stats();
  const problems = heap.check().problems;
  check(st.liveBlocks === 0 && problems.length === 0, `at the end: ${st.liveBlocks} blocks live, check(): ${problems.map((p) => p.message).join("; ")}`);
  console.log("wasm_host: OK (every result equals the same computation in JS; the heap is empty and check() is clean)");
  return 0;
}

try {
  process.exitCode = await main();
} catch (e) {
  console.error(`wasm_host: FAIL: ${(e as Error).message}`);
  process.exitCode = 1;
}
