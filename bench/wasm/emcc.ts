/**
 * wasm/emcc — builds C and C++ programs to WebAssembly with Emscripten on one of three heaps
 * (hakmem through hakmem/emscripten, Emscripten's dlmalloc, Emscripten's emmalloc) and runs them
 * under Node. Used by the wasm benchmarks (bench/wasm/) and the Emscripten tests
 * (test/emscripten*.test.ts).
 *
 * Builds are cached in a temp directory keyed by a hash of everything that goes into them (the
 * sources, the flags, hakmem's library and C file, the emcc version), so a test run builds each
 * program once per change. Every build gets the same harness `--pre-js` on every heap:
 * - Emscripten 3.1.6's glue fetch()es the .wasm under Node 20, which fails for a file path: the
 *   harness hands it `wasmBinary` read with fs.
 * - With HAKMEM_WASM_REPORT=1 in the environment the program prints, on stderr at exit, the
 *   Memory's final (= peak: it never shrinks) size and the milliseconds from preRun to exit
 *   (static constructors and main; not Node's start-up or the wasm compilation).
 */

import { execFile, execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, delimiter, dirname, join } from "node:path";
import { emccArgs, libraryPath, sourcePath } from "../../src/emscripten/index.js";
import { findExecutable } from "../lib/env.js";

/** The heaps a program can be built with. */
export type WasmHeap = "hakmem" | "dlmalloc" | "emmalloc";

/** The line to print when emcc is missing. */
export const EMCC_MISSING = "emcc not found on PATH: install Emscripten with `apt-get install -y emscripten node-acorn`";

/** Debian's Emscripten runs its JS tools with Node and needs Debian's node-acorn on NODE_PATH. */
const EMCC_ENV = { ...process.env, NODE_PATH: [process.env.NODE_PATH, "/usr/share/nodejs"].filter(Boolean).join(delimiter) };

/** The emcc executable on PATH, or null. */
export function findEmcc(): string | null {
  return findExecutable("emcc");
}

let versionLine: string | undefined;
/** The first line of `emcc --version`. */
export function emccVersion(emcc: string): string {
  versionLine ??= execFileSync(emcc, ["--version"], { env: EMCC_ENV, encoding: "utf8" }).split("\n")[0]!;
  return versionLine;
}

const HARNESS = `// hakmem test/bench harness (bench/wasm/emcc.ts): the same on every heap.
if (typeof process == 'object' && !Module['ENVIRONMENT_IS_PTHREAD']) {
  if (!Module['wasmBinary']) Module['wasmBinary'] = require('fs').readFileSync(__filename.replace(/\\.js$/, '.wasm'));
  if (process.env.HAKMEM_WASM_REPORT === '1') {
    var hakmemHarnessStart = 0;
    Module['preRun'] = [function() { hakmemHarnessStart = performance.now(); }].concat(Module['preRun'] || []);
    process.on('exit', function() {
      require('fs').writeSync(2, 'HAKMEM_WASM_REPORT ' + JSON.stringify({ memoryBytes: wasmMemory.buffer.byteLength, ms: performance.now() - hakmemHarnessStart }) + '\\n');
    });
  }
}
`;

/** What to build. */
export interface BuildSpec {
  /** Name of the output (a file name stem). */
  name: string;
  /** Source files (C or C++; C++ when any ends in .cpp or .cc). */
  sources: string[];
  heap: WasmHeap;
  /** pthreads: the size of the worker pool started with the module (0: no threads). */
  threads?: number;
  /** More emcc arguments (defines, -fexceptions, …). */
  flags?: string[];
}

function heapArgs(heap: WasmHeap): string[] {
  return heap === "hakmem" ? emccArgs() : [`-sMALLOC=${heap}`];
}

/**
 * Builds `spec` (or takes it from the cache) and returns the path of its .js. -O2, memory growth
 * allowed, exit code kept (EXIT_RUNTIME, so that a threaded program's workers end with it).
 * @throws Error with emcc's output when the build fails.
 */
export async function buildProgram(emcc: string, spec: BuildSpec): Promise<string> {
  const cxx = spec.sources.some((s) => /\.(cpp|cc)$/.test(s));
  const args = [
    "-O2",
    "-sALLOW_MEMORY_GROWTH",
    "-sEXIT_RUNTIME",
    ...(spec.threads ? ["-pthread", `-sPTHREAD_POOL_SIZE=${spec.threads}`] : []),
    ...(spec.flags ?? []),
    ...heapArgs(spec.heap),
  ];
  const hash = createHash("sha256");
  hash.update(emccVersion(emcc)).update(HARNESS).update(JSON.stringify(args.map((a) => a.replace(libraryPath, "LIB").replace(sourcePath, "SRC"))));
  for (const s of spec.sources) hash.update(readFileSync(s));
  if (spec.heap === "hakmem") {
    hash.update(readFileSync(libraryPath)).update(readFileSync(sourcePath)).update(readFileSync(join(dirname(sourcePath), "hakmem_layout.h")));
  }
  const dir = join(tmpdir(), "hakmem-emcc-cache", `${spec.name}-${spec.heap}-${hash.digest("hex").slice(0, 16)}`);
  const out = join(dir, `${spec.name}.js`);
  if (existsSync(join(dir, "done"))) return out;

  // Build into a fresh directory and rename it into place: concurrent test files never see half a build.
  const work = `${dir}.tmp${process.pid}`;
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  writeFileSync(join(work, "harness.pre.js"), HARNESS);
  const cmd = [cxx ? `${emcc.replace(/emcc$/, "em++")}` : emcc, ...spec.sources, ...args, "--pre-js", join(work, "harness.pre.js"), "-o", join(work, `${spec.name}.js`)];
  await new Promise<void>((resolve, reject) => {
    execFile(cmd[0]!, cmd.slice(1), { env: EMCC_ENV, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`emcc failed building ${spec.name} on ${spec.heap}: ${cmd.join(" ")}\n${stdout}${stderr}`));
      else resolve();
    });
  });
  writeFileSync(join(work, "done"), "");
  try {
    renameSync(work, dir);
  } catch {
    rmSync(work, { recursive: true, force: true }); // another process finished the same build first
  }
  return out;
}

/** What a run printed, and what the harness reported. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Final size of the module's Memory, bytes. */
  memoryBytes: number;
  /** Milliseconds from preRun to exit. */
  ms: number;
}

const REPORT = "HAKMEM_WASM_REPORT ";

/**
 * Runs a built program under Node with `args` (and `env` added to this process's environment).
 * @throws Error when it does not report (it crashed before exit, or timed out).
 */
export function runProgram(js: string, args: string[] = [], timeoutMs = 120_000, env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [js, ...args],
      { env: { ...process.env, ...env, HAKMEM_WASM_REPORT: "1" }, timeout: timeoutMs, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        const line = stderr.split("\n").find((l) => l.startsWith(REPORT));
        if (line === undefined) {
          reject(new Error(`${basename(js)} ${args.join(" ")} ended without its report (${err?.message ?? "no error"}): ${stderr.slice(-2000)}`));
          return;
        }
        const report = JSON.parse(line.slice(REPORT.length)) as { memoryBytes: number; ms: number };
        const code = err === null ? 0 : typeof err.code === "number" ? err.code : null;
        resolve({ code, stdout, stderr: stderr.split("\n").filter((l) => !l.startsWith(REPORT)).join("\n"), ...report });
      },
    );
  });
}
