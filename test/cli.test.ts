/**
 * The command lines of the long-running scripts under test/ (soak.ts, fuzz.ts, reliability.ts;
 * the examples' are in examples.test.ts): `--help` prints the usage and exits 0; an unknown
 * option or a bad value exits 2 naming it, with the usage; the options given reach the run (a
 * one-second soak, a short fuzz in each mode and a six-second reliability run print the
 * configuration they ran with and pass; a reliability run with a fault injected into its fuzz
 * parts prints FAIL and a replay line for each of them and exits 1).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { runProcess, type Finished } from "./processes.js";

function script(name: string, args: string[]): Promise<Finished> {
  return runProcess(process.execPath, [`build/test/${name}.js`, ...args]);
}

const BAD_VALUE: Record<string, [string[], RegExp]> = {
  soak: [["--workers", "0"], /--workers takes an integer from 1 to 100, got "0"/],
  fuzz: [["--bad-rate", "2"], /--bad-rate takes a number from 0 to 1, got "2"/],
  reliability: [["--minutes", "0"], /--minutes takes a positive number, got "0"/],
};

for (const name of ["soak", "fuzz", "reliability"]) {
  test(`${name}: --help, an unknown option, a bad value`, async () => {
    const help = await script(name, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`^usage: node build/test/${name}\\.js \\[options\\]`));
    assert.match(help.stdout, /--help +this text/);
    const unknown = await script(name, ["--no-such-option"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, new RegExp(`^${name}: Unknown option '--no-such-option'[\\s\\S]*usage:`));
    const [args, message] = BAD_VALUE[name]!;
    const bad = await script(name, args);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, message);
  });
}

test("soak: a one-second run with every option given", async () => {
  const r = await script("soak", ["--seconds", "1", "--round-seconds", "1", "--workers", "2", "--seed", "5", "--retain", "16", "--slots", "64", "--max-mib", "64", "--check"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^soak: 1 s, 2 workers per round, rounds of 1 s, seed 5, retain 16, 64 transfer slots, max 64 MiB, checked mode$/m);
  assert.match(r.stdout, /^soak: PASS/m);
});

test("fuzz: a short run in each mode with options given", async () => {
  const r = await script("fuzz", ["--ops", "400", "--seed", "3", "--workers", "1", "--check-every", "100", "--bad-rate", "0.1", "--max-mib", "32", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^hakmem fuzz: OK: 400 ops, seed 3, checked mode, 1 worker, 0 terminations,/m);
  assert.match(r.stdout, /^ {2}thread heaps: 1 in one thread; bad rate 0.1; max 32 MiB; checks every 100 ops,/m);
  const d = await script("fuzz", ["--ops", "3000", "--seed", "4", "--default", "--workers", "3", "--epoch-ops", "500", "--terminate-every", "0", "--check-every", "auto", "--quiet"]);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.match(d.stdout, /^hakmem fuzz: OK: \d+ ops, seed 4, default mode, 3 workers, \d+ terminations?,/m);
  assert.match(d.stdout, /^ {2}worker threads: 3, epochs of 500 ops each: \d+; bad rate 0.02; max 512 MiB; checks every [\d,–]+ ops \(auto/m);
  const t = await script("fuzz", ["--terminate-every", "3"]);
  assert.equal(t.code, 2);
  assert.match(t.stderr, /--terminate-every is an option of default mode/);
});

test("reliability: a six-second run passes every part and prints a line for each", async () => {
  const r = await script("reliability", ["--minutes", "0.1", "--seed", "6", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  for (const part of ["soak", "fuzz checked", "fuzz default ×1", "fuzz default ×2", "fuzz default ×4"]) {
    assert.match(r.stdout, new RegExp(`^reliability: ${part} +PASS  [\\d,]+ ops, .*\\d+ terminations, seed 6, `, "m"));
  }
  assert.match(r.stdout, /^reliability: PASS \(5 parts, /m);
});

test("reliability: a failed part prints FAIL, its failure and its replay line, and the command exits 1", async () => {
  const r = await script("reliability", ["--minutes", "0.05", "--seed", "6", "--inject-fault", "500", "--quiet"]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^reliability: soak +PASS /m, "the soak has no injected fault");
  const replays = [...r.stdout.matchAll(/^replay: (npm run fuzz -- .* --inject-fault 500)$/gm)].map((m) => m[1]);
  assert.deepEqual(replays.map((l) => / --(checked|default)/.exec(l!)![1]), ["checked", "default", "default", "default"], r.stdout);
  for (const part of ["fuzz checked", "fuzz default ×1", "fuzz default ×2", "fuzz default ×4"]) assert.match(r.stdout, new RegExp(`^reliability: ${part} +FAIL `, "m"));
  assert.match(r.stdout, /^reliability: FAIL \(fuzz checked, fuzz default ×1, fuzz default ×2, fuzz default ×4; [\s\S]*replay:\n {2}npm run fuzz -- /m);
});
