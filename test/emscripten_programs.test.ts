/**
 * Real programs on hakmem: each program of bench/wasm/programs.ts (from Debian's emscripten
 * package, unmodified) is built on hakmem and on Emscripten's dlmalloc and run once, briefly;
 * the outputs must be identical. Longer runs, with times and Memory: `npm run bench:wasm`.
 */

import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { EMCC_MISSING, buildProgram, findEmcc, runProgram, type WasmHeap } from "../bench/wasm/emcc.js";
import { REAL_PROGRAMS, programSource } from "../bench/wasm/programs.js";

const emcc = findEmcc();
if (emcc === null) console.log(`skipped: the real programs on hakmem (${EMCC_MISSING})`);

describe("Emscripten: real programs print the same on hakmem as on dlmalloc", { skip: emcc === null ? EMCC_MISSING : false }, () => {
  for (const p of REAL_PROGRAMS) {
    const source = programSource(p);
    it(`${p.name}: ${p.about}`, { skip: source === null ? `${p.file} not found in Debian's emscripten package` : false }, async () => {
      const outputs = new Map<WasmHeap, string>();
      for (const heap of ["hakmem", "dlmalloc"] as const) {
        const js = await buildProgram(emcc!, { name: p.name, sources: [source!], heap, threads: p.threads, flags: p.flags });
        const r = await runProgram(js, p.testArgs);
        assert.equal(r.code, 0, `${p.name} on ${heap} exited with ${r.code}: ${r.stderr.slice(-500)}`);
        outputs.set(heap, r.stdout);
      }
      assert.ok(outputs.get("dlmalloc")!.length > 0, "the program printed something");
      assert.equal(outputs.get("hakmem"), outputs.get("dlmalloc"));
    });
  }
});
