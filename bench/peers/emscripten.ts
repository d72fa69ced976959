/**
 * emmalloc / dlmalloc — emscripten's own allocators (system/lib/emmalloc.c and system/lib/dlmalloc.c
 * of the emscripten installation) compiled to WASM at bench time and called from JS.
 *
 * Only when `emcc` is on PATH (Debian: `apt-get install emscripten`); otherwise `prepare` throws
 * PeerSkipped and the rows are omitted. A small C shim exports bench_malloc/bench_free/
 * bench_realloc (plain malloc/free/realloc) and bench_footprint; it is built with
 * `emcc -O3 -sMALLOC=<emmalloc|dlmalloc> -sSTANDALONE_WASM --no-entry -sALLOW_MEMORY_GROWTH`,
 * which links exactly that allocator from emscripten's system/lib, into bench/results/tmp/.
 * Each run instantiates a fresh module. Byte writes go through a Uint8Array over its memory,
 * re-created after the memory grew (and so detached).
 * realloc: the allocator's own. Footprint: the high-water mark of the program break (sbrk(0)),
 * sampled inside bench_malloc/bench_realloc, minus its value at the first call.
 */

import { execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { findExecutable } from "../lib/env.js";
import { PeerSkipped, type BenchAllocator, type Peer, type PeerModule } from "./types.js";

const SHIM = `// Compiled by bench/peers/emscripten.ts: the allocator selected by -sMALLOC, exposed to JS.
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>
#include <emscripten.h>

static uintptr_t base, peak;

static void track(void) {
  uintptr_t top = (uintptr_t)sbrk(0);
  if (base == 0) base = peak = top;
  if (top > peak) peak = top;
}

EMSCRIPTEN_KEEPALIVE void *bench_malloc(size_t n) {
  if (base == 0) track();
  void *p = malloc(n);
  track();
  return p;
}
EMSCRIPTEN_KEEPALIVE void bench_free(void *p) { free(p); }
EMSCRIPTEN_KEEPALIVE void *bench_realloc(void *p, size_t n) {
  void *q = realloc(p, n);
  track();
  return q;
}
EMSCRIPTEN_KEEPALIVE size_t bench_footprint(void) { return peak - base; }
`;

type Variant = "emmalloc" | "dlmalloc";

function variantOf(v: string): Variant {
  if (v !== "emmalloc" && v !== "dlmalloc") throw new Error(`emscripten: unknown variant ${v}`);
  return v;
}

/** The allocator's C source in the emscripten installation, or null if not where expected. */
function findSource(emcc: string, variant: Variant): string | null {
  const roots = [dirname(realpathSync(emcc)), "/usr/share/emscripten", "/usr/lib/emscripten"];
  for (const root of roots) {
    const file = join(root, "system", "lib", `${variant}.c`);
    if (existsSync(file)) return file;
  }
  return null;
}

function wasmFile(tmpDir: string, variant: Variant): string {
  return join(tmpDir, `${variant}.wasm`);
}

interface EmExports {
  malloc(n: number): number;
  free(p: number): void;
  realloc(p: number, n: number): number;
  footprint(): number;
  memory: WebAssembly.Memory;
}

function exportsOf(instance: WebAssembly.Instance): EmExports {
  const e = instance.exports;
  const fn = (name: string): CallableFunction => {
    const f = e[name] ?? e[`_${name}`];
    if (typeof f !== "function") throw new Error(`emscripten: module does not export ${name}`);
    return f as CallableFunction;
  };
  const memory = e.memory;
  if (!(memory instanceof WebAssembly.Memory)) throw new Error("emscripten: module does not export its memory");
  const initialize = e._initialize;
  if (typeof initialize === "function") (initialize as () => void)();
  return {
    malloc: fn("bench_malloc") as (n: number) => number,
    free: fn("bench_free") as (p: number) => void,
    realloc: fn("bench_realloc") as (p: number, n: number) => number,
    footprint: fn("bench_footprint") as () => number,
    memory,
  };
}

/** Imports for a standalone module: every imported function is a stub (abort/exit throw). */
function stubImports(module: WebAssembly.Module): WebAssembly.Imports {
  const imports: Record<string, Record<string, WebAssembly.ImportValue>> = {};
  for (const imp of WebAssembly.Module.imports(module)) {
    if (imp.kind !== "function") throw new Error(`emscripten: unexpected ${imp.kind} import ${imp.module}.${imp.name}`);
    const fatal = /abort|exit|trap/.test(imp.name);
    (imports[imp.module] ??= {})[imp.name] = fatal
      ? () => {
          throw new Error(`emscripten: ${imp.module}.${imp.name} called`);
        }
      : () => 0;
  }
  return imports;
}

class EmAllocator implements BenchAllocator {
  private readonly e: EmExports;
  private readonly mallocFn: (n: number) => number;
  private readonly freeFn: (p: number) => void;
  private readonly reallocFn: (p: number, n: number) => number;
  private u8: Uint8Array;

  constructor(module: WebAssembly.Module, imports: WebAssembly.Imports) {
    this.e = exportsOf(new WebAssembly.Instance(module, imports));
    this.mallocFn = this.e.malloc;
    this.freeFn = this.e.free;
    this.reallocFn = this.e.realloc;
    this.u8 = new Uint8Array(this.e.memory.buffer);
  }

  malloc(size: number): number {
    return this.mallocFn(size) >>> 0;
  }

  free(p: number): void {
    this.freeFn(p);
  }

  write(p: number, offset: number, value: number): void {
    const i = p + offset;
    if (i >= this.u8.length) this.u8 = new Uint8Array(this.e.memory.buffer);
    this.u8[i] = value;
  }

  realloc(p: number, _oldSize: number, newSize: number): number {
    return this.reallocFn(p, newSize) >>> 0;
  }

  peakFootprint(): number {
    return this.e.footprint() >>> 0;
  }

  dispose(): void {}
}

export const peer: PeerModule = {
  async prepare(v: string, tmpDir: string): Promise<void> {
    const variant = variantOf(v);
    const emcc = findExecutable("emcc");
    if (emcc === null) throw new PeerSkipped("skipped: emcc not found (apt-get install emscripten)");
    const source = findSource(emcc, variant);
    await mkdir(tmpDir, { recursive: true });
    const shim = join(tmpDir, "em_shim.c");
    await writeFile(shim, SHIM);
    const args = [
      "-O3",
      shim,
      `-sMALLOC=${variant}`,
      "-sSTANDALONE_WASM=1",
      "--no-entry",
      "-sALLOW_MEMORY_GROWTH=1",
      "-sMAXIMUM_MEMORY=2147483648",
      "-o",
      wasmFile(tmpDir, variant),
    ];
    process.stderr.write(`${variant}: emcc ${args.join(" ")}  (allocator source: ${source ?? "emscripten's bundled copy"})\n`);
    try {
      execFileSync(emcc, args, { stdio: ["ignore", "ignore", "pipe"], timeout: 600_000 });
    } catch (err) {
      const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim() ?? "";
      throw new PeerSkipped(`skipped: emcc failed to build ${variant}: ${stderr.split("\n").slice(-3).join(" ") || String(err)}`);
    }
  },

  async load(v: string, tmpDir: string): Promise<Peer> {
    const variant = variantOf(v);
    const file = wasmFile(tmpDir, variant);
    if (!existsSync(file)) throw new PeerSkipped(`skipped: ${file} not built (emcc not found?)`);
    const module = await WebAssembly.compile(await readFile(file));
    const imports = stubImports(module);
    return {
      name: variant,
      description: `emscripten's ${variant}.c compiled by emcc -O3 (standalone WASM), called from JS`,
      reallocNative: true,
      footprint: "high-water mark of sbrk(0)",
      shareable: false,
      create: () => new EmAllocator(module, imports),
    };
  },
};
