/**
 * as-tlsf — AssemblyScript's runtime allocator (TLSF, std/assembly/rt/tlsf.ts) compiled to WASM
 * and called from JS, as a JS program that uses an AssemblyScript module's heap would.
 *
 * At bench time (parent process, `prepare`) the four-line AssemblyScript module below is compiled
 * with the `assemblyscript` package's programmatic API (asc.compileString; -O3, runtime "minimal",
 * noAssert) into bench/results/tmp/as-tlsf.wasm. Each run instantiates a fresh module (a fresh
 * WebAssembly.Memory); malloc/free/realloc are calls into its exports `alloc`/`free`/`realloc`
 * (`heap.alloc`/`heap.free`/`heap.realloc`, i.e. TLSF), and byte writes go through a Uint8Array
 * over the module's memory, re-created when TLSF has grown (and so detached) the memory.
 * realloc: TLSF's own. Footprint: the byte length of the WASM memory (it never shrinks; includes the
 * module's static data and TLSF's control block, well under 64 KiB).
 */

import { readFile, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { BenchAllocator, Peer, PeerModule } from "./types.js";

const SOURCE = `// Compiled by bench/peers/as_tlsf.ts: TLSF (AssemblyScript runtime "minimal") exposed to JS.
export function alloc(size: usize): usize { return heap.alloc(size); }
export function free(ptr: usize): void { heap.free(ptr); }
export function realloc(ptr: usize, size: usize): usize { return heap.realloc(ptr, size); }
`;
const WASM_FILE = "as-tlsf.wasm";

interface TlsfExports {
  alloc(size: number): number;
  free(ptr: number): void;
  realloc(ptr: number, size: number): number;
  memory: WebAssembly.Memory;
}

const imports: WebAssembly.Imports = {
  env: {
    abort(_message: number, _file: number, line: number, column: number): never {
      throw new Error(`as-tlsf: abort at ${line}:${column}`);
    },
  },
};

class TlsfAllocator implements BenchAllocator {
  private readonly exports: TlsfExports;
  private readonly allocFn: (size: number) => number;
  private readonly freeFn: (ptr: number) => void;
  private readonly reallocFn: (ptr: number, size: number) => number;
  private u8: Uint8Array;

  constructor(module: WebAssembly.Module) {
    this.exports = new WebAssembly.Instance(module, imports).exports as unknown as TlsfExports;
    this.allocFn = this.exports.alloc;
    this.freeFn = this.exports.free;
    this.reallocFn = this.exports.realloc;
    this.u8 = new Uint8Array(this.exports.memory.buffer);
  }

  malloc(size: number): number {
    return this.allocFn(size) >>> 0;
  }

  free(p: number): void {
    this.freeFn(p);
  }

  write(p: number, offset: number, value: number): void {
    const i = p + offset;
    // After memory.grow the old buffer is detached (length 0): re-create the view.
    if (i >= this.u8.length) this.u8 = new Uint8Array(this.exports.memory.buffer);
    this.u8[i] = value;
  }

  realloc(p: number, _oldSize: number, newSize: number): number {
    return this.reallocFn(p, newSize) >>> 0;
  }

  peakFootprint(): number {
    return this.exports.memory.buffer.byteLength;
  }

  dispose(): void {}
}

export const peer: PeerModule = {
  async prepare(_variant: string, tmpDir: string): Promise<void> {
    const asc = (await import("assemblyscript/asc")).default;
    const result = await asc.compileString(
      { "as-tlsf.ts": SOURCE },
      { optimizeLevel: 3, shrinkLevel: 0, runtime: "minimal", noAssert: true },
    );
    if (result.error !== null || result.binary === null) {
      throw new Error(`as-tlsf: AssemblyScript compilation failed: ${result.error?.message ?? ""}\n${result.stderr.toString()}`);
    }
    // Only the binary is written: a .ts file under bench/ would be picked up by tsc.
    await mkdir(tmpDir, { recursive: true });
    await writeFile(join(tmpDir, WASM_FILE), result.binary);
  },

  async load(_variant: string, tmpDir: string): Promise<Peer> {
    const module = await WebAssembly.compile(await readFile(join(tmpDir, WASM_FILE)));
    return {
      name: "as-tlsf",
      description: "AssemblyScript TLSF (heap.alloc/free/realloc) compiled to WASM by asc -O3, called from JS",
      reallocNative: true,
      footprint: "WebAssembly memory size",
      shareable: false,
      create: () => new TlsfAllocator(module),
    };
  },
};
