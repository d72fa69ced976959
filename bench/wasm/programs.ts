/**
 * wasm/programs — real, unmodified C and C++ programs that ship in Debian's `emscripten` package
 * (its test tree, /usr/share/emscripten/tests), built on hakmem and on Emscripten's dlmalloc to
 * compare their output (test/emscripten_programs.test.ts, one short run each) and their speed and
 * Memory (bench/wasm/programs_run.ts, longer runs). Nothing of them is copied into this repository.
 *
 * Which ones: Debian strips the third-party sources (bullet, freetype, poppler, zlib, sqlite's
 * amalgamation) from that tree; these are the programs left that build and print a deterministic
 * result. `mallocHeavy` marks those whose run is dominated by malloc and free.
 */

import { existsSync } from "node:fs";
import { join } from "node:path";

/** Where Debian's emscripten package puts Emscripten's test tree. */
export const EMSCRIPTEN_TESTS = "/usr/share/emscripten/tests";

export interface RealProgram {
  name: string;
  /** Path under EMSCRIPTEN_TESTS. */
  file: string;
  /** What it is. */
  about: string;
  /** Pool of pthread workers (threaded programs). */
  threads?: number;
  flags?: string[];
  /** Arguments of the short run in npm test, and of the benchmark run. */
  testArgs: string[];
  benchArgs: string[];
  mallocHeavy: boolean;
}

export const REAL_PROGRAMS: readonly RealProgram[] = [
  {
    name: "havlak",
    file: "havlak.cpp",
    about: "C++: Havlak's loop recognition on a generated control-flow graph (STL maps, sets, lists: new/delete)",
    flags: ["-std=c++11"],
    testArgs: ["1"],
    benchArgs: ["3"],
    mallocHeavy: true,
  },
  {
    name: "pthread_malloc_free",
    file: "pthread/test_pthread_malloc_free.cpp",
    about: "C++, 8 pthreads: each allocates 50,000 blocks that the main thread frees while they run",
    threads: 8,
    testArgs: [],
    benchArgs: [],
    mallocHeavy: true,
  },
  {
    name: "fasta",
    file: "fasta.cpp",
    about: "C++: the benchmarks game's fasta (random DNA sequences)",
    testArgs: ["100000"],
    benchArgs: ["5000000"],
    mallocHeavy: false,
  },
  {
    name: "fannkuch",
    file: "fannkuch.cpp",
    about: "C++: the benchmarks game's fannkuch-redux (permutations)",
    testArgs: ["8"],
    benchArgs: ["10"],
    mallocHeavy: false,
  },
  {
    name: "skinning",
    file: "skinning_test_no_simd.cpp",
    about: "C++: skeletal animation skinning (vectors of vertices and bones)",
    testArgs: ["1"],
    benchArgs: ["3"],
    mallocHeavy: false,
  },
  {
    name: "life",
    file: "life.c",
    about: "C: Conway's game of life",
    testArgs: ["1"],
    benchArgs: ["4"],
    mallocHeavy: false,
  },
];

/** The program's source in Debian's emscripten package, or null when it is not installed. */
export function programSource(p: RealProgram): string | null {
  const path = join(EMSCRIPTEN_TESTS, p.file);
  return existsSync(path) ? path : null;
}
