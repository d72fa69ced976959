/**
 * wasm_user — a module worker of the browser tests' shared-Memory case (cases.ts
 * sharedWasmMemory): it attaches to a heap that lives in a shared WebAssembly.Memory, instantiates
 * the module of wasm_module.ts over that same Memory with the heap's malloc, and:
 * - on { type: "sum", ptr, len }: answers the module's sum of those bytes and the one JS reads;
 * - on { type: "dup", ptrs, ids }: copies each block with the module's `dup` (which allocates
 *   through the heap, growing the Memory from inside wasm), verifies each copy (blocks.ts) and
 *   answers the copies' pointers;
 * - on { type: "free", ptrs, ids }: verifies blocks another worker made, compares the module's
 *   sum with JS's for each, and frees them (cross-worker frees);
 * - on { type: "dispose" }: disposes.
 */

import { verifyBlock } from "../workers/blocks.js";
import { scope, workerMain, type WasmUserStart } from "./protocol.js";

interface Tools {
  sum(p: number, n: number): number;
  dup(p: number, n: number): number;
}

type Command =
  | { type: "sum"; ptr: number; len: number }
  | { type: "dup" | "free"; ptrs: number[]; ids: number[] }
  | { type: "dispose" };

workerMain<WasmUserStart>(async ({ attachHeap }, data) => {
  const heap = attachHeap(data.handle);
  const memory = data.handle.memory as WebAssembly.Memory;
  const instance = await WebAssembly.instantiate(data.module, {
    env: { memory, malloc: (n: number) => heap.malloc(n >>> 0) },
  });
  const tools = instance.exports as unknown as Tools;
  const jsSum = (p: number, n: number): number => {
    const u8 = heap.u8;
    let s = 0;
    for (let i = 0; i < n; i++) s += u8[p + i]!;
    return s;
  };
  scope.onmessage = (e: MessageEvent) => {
    const cmd = e.data as Command;
    try {
      switch (cmd.type) {
        case "sum":
          scope.postMessage({ type: "sum", wasm: tools.sum(cmd.ptr, cmd.len) >>> 0, js: jsSum(cmd.ptr, cmd.len) });
          break;
        case "dup": {
          const copies = cmd.ptrs.map((p, i) => {
            const n = heap.usableSize(p);
            const q = tools.dup(p, n) >>> 0;
            if (q === 0) throw new Error(`dup of block ${p} (${n} bytes): the module's malloc returned 0`);
            verifyBlock(heap, q, `copy of block ${p}`, cmd.ids[i]);
            return q;
          });
          scope.postMessage({ type: "dup", copies, bytes: memory.buffer.byteLength });
          break;
        }
        case "free":
          cmd.ptrs.forEach((p, i) => {
            const { len } = verifyBlock(heap, p, `block ${p} from the other worker`, cmd.ids[i]);
            const wasm = tools.sum(p, len) >>> 0;
            const js = jsSum(p, len);
            if (wasm !== js) throw new Error(`block ${p}: the module's sum ${wasm} differs from JS's ${js}`);
            heap.free(p);
          });
          scope.postMessage({ type: "free" });
          break;
        case "dispose":
          heap.dispose();
          scope.postMessage({ type: "dispose" });
          break;
      }
    } catch (err) {
      scope.postMessage({ type: "error", message: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  };
  scope.postMessage({ type: "ready", threadId: heap.threadId });
});
