/**
 * The programs in examples/ run, each in its own process, as a user would run them (with smaller
 * sizes): each must exit 0 and print its OK line, which it prints only after its own checks
 * (particles: both versions end with the same particles and the heap is empty; shared_map: every
 * count made by the workers equals a count made alone, the heap is empty and consistent;
 * wasm_host: every result of the WebAssembly module equals the same computation in JS). Their
 * speeds are printed, not asserted. `--help` prints the usage and exits 0; an unknown option
 * exits 2 with the usage.
 *
 * The examples import "hakmem", which Node resolves to this package's dist/ (npm test builds it).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describeFailure, ROOT, runProcess, type Finished } from "./processes.js";

function runExample(name: string, args: string[]): Promise<Finished> {
  return runProcess(process.execPath, [`build/examples/${name}.js`, ...args]);
}

function assertRan(r: Finished, name: string): void {
  assert.equal(r.code, 0, describeFailure(r, name));
  assert.match(r.stdout, new RegExp(`^${name}: OK`, "m"), `${name} printed no OK line:\n${r.stdout}`);
}

const EXAMPLES: Array<[string, string[], (stdout: string) => void]> = [
  [
    "particles",
    ["--frames", "300", "--spawn", "100", "--rounds", "3"],
    (out) => {
      assert.match(out, /both versions end with the same \d+ particles/);
      assert.match(out, /hakmem heap: +\d+ frames\/s, \d+ garbage collections per run/);
      assert.match(out, /plain objects: +\d+ frames\/s/);
      assert.match(out, /heap \/ objects: [\d.]+×/);
    },
  ],
  [
    "shared_map",
    ["--workers", "3", "--words", "60000", "--vocabulary", "20000"],
    (out) => assert.match(out, /3 workers counted 60000 words into one map/),
  ],
  [
    "wasm_host",
    ["--elements", "20000"],
    (out) => {
      assert.match(out, /compiled examples\/assembly\/text\.ts with AssemblyScript/);
      assert.match(out, /the module summed it \(\d+\) and doubled it in place/);
      assert.match(out, /growth: the heap grew the memory from \d+ to \d+ pages/);
    },
  ],
];

test("dist/ is built (the examples import the package by its name)", () => {
  assert.ok(existsSync(join(ROOT, "dist", "index.js")), "run `npm run build` first (npm test does)");
});

for (const [name, args, checkOutput] of EXAMPLES) {
  test(`examples/${name}.ts runs and passes its own checks`, async () => {
    const r = await runExample(name, args);
    assertRan(r, name);
    checkOutput(r.stdout);
  });
}

test("each example prints its usage for --help and refuses an unknown option", async () => {
  for (const [name] of EXAMPLES) {
    const help = await runExample(name, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`^usage: node build/examples/${name}\\.js`));
    const bad = await runExample(name, ["--no-such-option"]);
    assert.equal(bad.code, 2, `${name} --no-such-option exited with ${bad.code}`);
    assert.match(bad.stderr, /Unknown option '--no-such-option'[\s\S]*usage:/);
  }
});
