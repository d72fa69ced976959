/**
 * hakmem as the heap of Emscripten modules (hakmem/emscripten): the C API battery, C++ new and
 * delete, pthreads (cross-thread frees, thread exit, a terminated thread), and a host that
 * shares the heap with C (JS and C freeing each other's blocks, JS workers attached to a threaded
 * module's heap, the Memory grown by others). The programs are in test/wasm/; they are built with
 * Debian's emcc (cached, see bench/wasm/emcc.ts) and skipped with a note when emcc is missing.
 */

import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { EMCC_MISSING, buildProgram, findEmcc, runProgram, type BuildSpec } from "../bench/wasm/emcc.js";
import type { Heap, HeapHandle } from "../src/index.js";

const emcc = findEmcc();
const skip = emcc === null ? EMCC_MISSING : false;
if (emcc === null) console.log(`skipped: the Emscripten tests (${EMCC_MISSING})`);

const source = (name: string): string => fileURLToPath(new URL(`../../test/wasm/${name}`, import.meta.url));
const build = (spec: BuildSpec): Promise<string> => buildProgram(emcc!, spec);

/** Lines of a test program's output that are not "ok …". */
function failuresOf(stdout: string): string[] {
  return stdout.split("\n").filter((l) => l.startsWith("FAIL"));
}

describe("Emscripten: C API on hakmem", { skip }, () => {
  it("passes the C API battery, growing the heap past 256 MiB", async () => {
    const js = await build({ name: "c_api", sources: [source("c_api.c")], heap: "hakmem", flags: ["-fno-builtin", "-Wno-non-power-of-two-alignment"] });
    const r = await runProgram(js, ["grow"]);
    assert.deepEqual(failuresOf(r.stdout), []);
    assert.match(r.stdout, /^0 failed$/m);
    assert.equal(r.code, 0);
    assert.ok(r.memoryBytes >= 256 * 2 ** 20, `Memory ${r.memoryBytes} bytes`);
  });

  it("serves C++ new/delete, aligned new, containers and bad_alloc", async () => {
    const js = await build({ name: "cxx_new", sources: [source("cxx_new.cpp")], heap: "hakmem", flags: ["-std=c++17", "-fexceptions"] });
    const r = await runProgram(js);
    assert.deepEqual(failuresOf(r.stdout), []);
    assert.match(r.stdout, /^ok a static constructor allocated before main$/m);
    assert.equal(r.code, 0);
  });

  it("stops a double free (default mode too) and an overflow in checked mode (HAKMEM_CHECK=1)", async () => {
    const js = await build({ name: "misuse", sources: [source("misuse.c")], heap: "hakmem" });
    const plain = await runProgram(js, ["double"]);
    assert.notEqual(plain.code, 0);
    assert.doesNotMatch(plain.stdout, /not reached/);
    assert.match(plain.stderr, /RangeError: hakmem: free\(0x[0-9a-f]+ \(\d+\)\): double free/);
    const ok = await runProgram(js, ["none"], 60_000, { HAKMEM_CHECK: "1" });
    assert.equal(ok.code, 0);
    assert.match(ok.stdout, /not reached/); // (a correct program runs through)
    const double = await runProgram(js, ["double"], 60_000, { HAKMEM_CHECK: "1" });
    assert.notEqual(double.code, 0);
    assert.doesNotMatch(double.stdout, /not reached/);
    assert.match(double.stderr, /HeapCorruptionError: hakmem: free\(0x[0-9a-f]+ \(\d+\)\): double free/);
    const overflow = await runProgram(js, ["overflow"], 60_000, { HAKMEM_CHECK: "1" });
    assert.notEqual(overflow.code, 0);
    assert.match(overflow.stderr, /HeapCorruptionError: hakmem: free\(0x[0-9a-f]+ \(\d+\)\): write past the end of the block/);
  });

  it("serves pthreads: cross-thread frees, thread exit, a killed thread reclaimed", async () => {
    const js = await build({ name: "threads", sources: [source("threads.c")], heap: "hakmem", threads: 4 });
    const r = await runProgram(js, [], 60_000);
    assert.deepEqual(failuresOf(r.stdout), [], r.stdout + r.stderr);
    assert.match(r.stdout, /^0 failed$/m);
    assert.equal(r.code, 0);
  });
});

/** The module of host_share.c, instantiated in this process (MODULARIZE). */
interface HostModule {
  hakmemHeap: Heap;
  asm: { memory: WebAssembly.Memory };
  _c_alloc(n: number, tag: number): number;
  _c_check_free(p: number, n: number, tag: number): number;
  _c_resize_heap(bytes: number): number;
  _c_memory_grow(pages: number): number;
  _hakmem_fast_path(): number;
}

async function loadHostModule(threaded: boolean): Promise<HostModule> {
  const js = await build({
    name: threaded ? "host_share_mt" : "host_share",
    sources: [source("host_share.c")],
    heap: "hakmem",
    // pthreads without a pool: a shared Memory, and no worker keeps this process alive.
    flags: ["-sMODULARIZE", "-sEXPORT_NAME=createHostModule", "--no-entry", ...(threaded ? ["-pthread"] : [])],
  });
  const factory = createRequire(import.meta.url)(js) as () => Promise<HostModule>;
  return factory();
}

const pattern = (tag: number, i: number): number => (tag + 7 * i) & 255;

function fill(heap: Heap, p: number, n: number, tag: number): void {
  const u8 = heap.u8;
  for (let i = 0; i < n; i++) u8[p + i] = pattern(tag, i);
}

function intact(heap: Heap, p: number, n: number, tag: number): boolean {
  const u8 = heap.u8;
  for (let i = 0; i < n; i++) if (u8[p + i] !== pattern(tag, i)) return false;
  return true;
}

describe("Emscripten: malloc and free in wasm", { skip }, () => {
  it("run on the thread cache in wasm, with the heap exact and double frees caught; a checked heap leaves them to JS", async () => {
    const m = await loadHostModule(false);
    const heap = m.hakmemHeap;
    const blocks: Array<[number, number, number]> = []; // pointer, size, pattern tag
    for (let round = 0; round < 4; round++) {
      for (let k = 0; k < 500; k++) {
        const n = 1 + ((k * 7919 + round) % (k % 10 === 0 ? 60_000 : 1000));
        blocks.push([m._c_alloc(n, k & 255), n, k & 255]);
      }
      assert.equal(m._hakmem_fast_path(), 1, "the fast path is on once the heap exists");
      // Free every other one from C (the push in wasm), check the rest from JS.
      for (let i = blocks.length - 1; i >= 0; i -= 2) {
        const [p, n, tag] = blocks[i]!;
        assert.equal(m._c_check_free(p, n, tag), 1, `block ${i} intact when C frees it`);
        blocks.splice(i, 1);
      }
      const s = heap.stats();
      assert.equal(s.liveBlocks, blocks.length, "stats() counts what C holds");
      assert.deepEqual(heap.check().problems, []);
    }
    for (const [p] of blocks) heap.free(p);
    assert.equal(heap.stats().liveBytes, 0);
    assert.throws(() => heap.free(blocks[0]![0]), /double free/, "a block C's free pushed carries the free key");

    process.env.HAKMEM_CHECK = "1";
    try {
      const checked = await loadHostModule(false);
      assert.ok(checked._c_alloc(100, 1) !== 0);
      assert.equal(checked._hakmem_fast_path(), 0, "a checked heap: every call reaches JS");
    } finally {
      delete process.env.HAKMEM_CHECK;
    }
  });
});

describe("Emscripten: the host shares the heap", { skip }, () => {
  it("JS frees blocks C allocated and C frees blocks JS allocated", async () => {
    const m = await loadHostModule(false);
    const heap = m.hakmemHeap;
    assert.ok(heap !== undefined && heap !== null, "Module.hakmemHeap is set");
    for (let k = 0; k < 300; k++) {
      const n = 1 + ((k * 379) % 5000);
      const c = m._c_alloc(n, k);
      assert.ok(c !== 0 && heap.usableSize(c) >= n);
      assert.ok(intact(heap, c, n, k), `C block ${k} seen from JS`);
      const j = heap.malloc(n);
      fill(heap, j, n, k + 1);
      heap.free(c);
      assert.equal(m._c_check_free(j, n, k + 1), 1, `JS block ${k} seen from C`);
    }
    assert.deepEqual(heap.check().problems, []);
  });

  it("picks up growth of a non-shared Memory by Emscripten, by wasm memory.grow and by JS", async () => {
    const m = await loadHostModule(false);
    const heap = m.hakmemHeap;
    const before = m._c_alloc(3000, 3);
    const js = heap.malloc(500);
    fill(heap, js, 500, 4);
    const memory = m.asm.memory;
    const byteLength = memory.buffer.byteLength;
    assert.equal(m._c_resize_heap(byteLength + (8 << 20)), 1, "emscripten_resize_heap");
    assert.ok(memory.buffer.byteLength > byteLength);
    assert.ok(m._c_memory_grow(32) > 0, "memory.grow from wasm");
    WebAssembly.Memory.prototype.grow.call(memory, 16); // past the library's own grow hook
    // Every call works over the new buffer: stats, check, C and JS malloc and free.
    assert.equal(heap.stats().liveBlocks >= 2, true);
    assert.deepEqual(heap.check().problems, []);
    assert.ok(intact(heap, before, 3000, 3));
    assert.equal(m._c_check_free(js, 500, 4), 1);
    heap.free(before);
    const big = m._c_alloc(40 << 20, 9); // grows the heap itself, after the others did
    assert.ok(big !== 0 && intact(heap, big, 40 << 20, 9));
    heap.free(big);
    assert.deepEqual(heap.check().problems, []);
  });

  it("lets JS workers attach to a threaded module's heap and trade blocks with C", async () => {
    const m = await loadHostModule(true);
    const heap = m.hakmemHeap;
    const handle: HeapHandle = heap.handle();
    assert.ok(handle.memory instanceof WebAssembly.Memory && handle.memory.buffer instanceof SharedArrayBuffer);
    const liveBefore = heap.stats().liveBlocks;
    const fromC: number[] = [];
    for (let k = 0; k < 200; k++) fromC.push(m._c_alloc(32 + k, k));
    const index = new URL("../src/index.js", import.meta.url).href;
    // The worker frees the C blocks (checking them) and allocates 200 blocks for C to free.
    const code = `
      import { parentPort, workerData } from "node:worker_threads";
      const { attachHeap } = await import(${JSON.stringify(index)});
      const heap = attachHeap(workerData.handle);
      let intact = true;
      workerData.fromC.forEach((p, k) => {
        const u8 = heap.u8;
        for (let i = 0; i < 32 + k; i++) if (u8[p + i] !== ((k + 7 * i) & 255)) intact = false;
        heap.free(p);
      });
      const fromJs = [];
      for (let k = 0; k < 200; k++) {
        const p = heap.malloc(64 + k);
        for (let i = 0; i < 64 + k; i++) heap.u8[p + i] = (k + 100 + 7 * i) & 255;
        fromJs.push(p);
      }
      heap.dispose();
      parentPort.postMessage({ intact, fromJs });
    `;
    const reply = await new Promise<{ intact: boolean; fromJs: number[] }>((resolve, reject) => {
      const w = new Worker(code, { eval: true, workerData: { handle, fromC } });
      w.once("message", resolve);
      w.once("error", reject);
    });
    assert.ok(reply.intact, "the worker saw C's patterns");
    reply.fromJs.forEach((p, k) => assert.equal(m._c_check_free(p, 64 + k, k + 100), 1, `worker block ${k} freed by C`));
    // Growth by others of a shared Memory, from JS and from wasm, is picked up too.
    WebAssembly.Memory.prototype.grow.call(handle.memory, 16);
    assert.ok(m._c_memory_grow(16) > 0, "memory.grow from wasm");
    assert.equal(m._c_check_free(m._c_alloc(5000, 77), 5000, 77), 1);
    assert.deepEqual(heap.check().problems, []);
    assert.equal(heap.stats().liveBlocks, liveBefore, "every block traded was freed");
  });
});
