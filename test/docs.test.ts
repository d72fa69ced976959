/**
 * The API reference (`npm run docs`: TypeDoc, typedoc.json) builds without a warning — every
 * export documented, every {@link} resolved — and the same configuration fails on an export
 * without a doc comment (checked on a small probe module, so that the gate is known to bite).
 * Both runs use `--emit none` (the validation is the same, nothing is written) and
 * `--skipErrorChecking` (npm test's tsc has type-checked the sources already).
 */

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT, runProcess } from "./processes.js";

const TYPEDOC = join(ROOT, "node_modules", ".bin", "typedoc");

async function typedoc(args: string[], cwd: string): Promise<{ code: number; output: string }> {
  const r = await runProcess(TYPEDOC, [...args, "--emit", "none", "--disableSources", "--skipErrorChecking"], cwd);
  return { code: r.code, output: r.stdout + r.stderr };
}

let probe = "";
after(async () => {
  if (probe !== "") await rm(probe, { recursive: true, force: true });
});

// The two builds are independent: run them side by side.
describe("docs", { concurrency: true }, () => {
  test("the API reference builds from typedoc.json with no warning", async () => {
    const r = await typedoc([], ROOT);
    assert.equal(r.code, 0, r.output);
    assert.doesNotMatch(r.output, /warning/);
  });

  test("an export without a doc comment fails the docs build", async () => {
    probe = await mkdtemp(join(tmpdir(), "hakmem-docs-"));
    await writeFile(join(probe, "probe.ts"), "/** Documented. */\nexport function documented(): void {}\nexport function undocumentedExport(): void {}\n");
    await writeFile(
      join(probe, "tsconfig.json"),
      JSON.stringify({ compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022" }, include: ["probe.ts"] }),
    );
    // The project's configuration, with only the entry point and the program swapped.
    await writeFile(
      join(probe, "typedoc.json"),
      JSON.stringify({ extends: [join(ROOT, "typedoc.json")], entryPoints: ["probe.ts"], tsconfig: "tsconfig.json", intentionallyNotDocumented: [] }),
    );
    const r = await typedoc(["--options", "typedoc.json"], probe);
    assert.notEqual(r.code, 0, `the build passed:\n${r.output}`);
    assert.match(r.output, /undocumentedExport .*does not have any documentation/);
    assert.doesNotMatch(r.output, /\bdocumented \(/, "the documented export was reported too");
  });
});
