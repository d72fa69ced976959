/**
 * The command lines of the long-running scripts under test/ (soak.ts, fuzz.ts; the examples'
 * are in examples.test.ts): `--help` prints the usage and exits 0; an unknown option or a bad
 * value exits 2 naming it, with the usage; the options given reach the run (a one-second soak
 * and a short fuzz print the configuration they ran with and pass).
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { runProcess, type Finished } from "./processes.js";

function script(name: string, args: string[]): Promise<Finished> {
  return runProcess(process.execPath, [`build/test/${name}.js`, ...args]);
}

for (const name of ["soak", "fuzz"]) {
  test(`${name}: --help, an unknown option, a bad value`, async () => {
    const help = await script(name, ["--help"]);
    assert.equal(help.code, 0);
    assert.match(help.stdout, new RegExp(`^usage: node build/test/${name}\\.js \\[options\\]`));
    assert.match(help.stdout, /--help +this text/);
    const unknown = await script(name, ["--no-such-option"]);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, new RegExp(`^${name}: Unknown option '--no-such-option'[\\s\\S]*usage:`));
    const bad = await script(name, name === "soak" ? ["--workers", "0"] : ["--bad-rate", "2"]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, name === "soak" ? /--workers takes an integer from 1 to 100, got "0"/ : /--bad-rate takes a number from 0 to 1, got "2"/);
  });
}

test("soak: a one-second run with every option given", async () => {
  const r = await script("soak", ["--seconds", "1", "--round-seconds", "1", "--workers", "2", "--seed", "5", "--retain", "16", "--slots", "64", "--max-mib", "64", "--check"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^soak: 1 s, 2 workers per round, rounds of 1 s, seed 5, retain 16, 64 transfer slots, max 64 MiB, checked mode$/m);
  assert.match(r.stdout, /^soak: PASS/m);
});

test("fuzz: a short run with options given", async () => {
  const r = await script("fuzz", ["--ops", "400", "--seed", "3", "--workers", "1", "--check-every", "100", "--bad-rate", "0.1", "--max-mib", "32", "--quiet"]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /^hakmem fuzz: OK: 400 ops, seed 3, checked mode, 1 worker, check every 100, bad rate 0.1,/m);
  const d = await script("fuzz", ["--ops", "200", "--seed", "4", "--default", "--quiet"]);
  assert.equal(d.code, 0, d.stdout + d.stderr);
  assert.match(d.stdout, /^hakmem fuzz: OK: 200 ops, seed 4, default mode, 2 workers,/m);
});
