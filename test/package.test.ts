/**
 * The package as a user gets it. `npm pack` runs once (npm test has built dist/), then:
 * - the tarball holds dist/ (a .js, .d.ts and their maps for every module of src/, nothing
 *   stale), src/, README.md, LICENSE, CHANGELOG.md and package.json, and nothing else;
 * - every source map in it resolves inside it: each `sources` entry of each .map names a file of
 *   the tarball, and each `sourceMappingURL` comment names a map of the tarball;
 * - publint (strict, every level down to suggestions) has nothing to say about the tarball;
 * - @arethetypeswrong/cli finds no problem with its types (profile esm-only: the package is
 *   ESM-only, so a `require` from CommonJS is not expected to work);
 * - the README's snippets: every ```js block of README.md is written into a fresh project that
 *   installed the tarball (npm install of the .tgz, no registry), type-checked with tsc against
 *   the package's declarations, and run; each must exit 0 and print exactly the lines its
 *   `// →` comments announce. The WebAssembly snippet's module is built with the asc command
 *   its first line gives;
 * - LICENSE is the MIT licence of "hakmem contributors", and package.json says MIT;
 * - CHANGELOG.md has a section for package.json's version.
 */

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, posix } from "node:path";
import { gunzipSync } from "node:zlib";
import { describeFailure, ROOT, runProcess as run, type Finished } from "./processes.js";

/** What the package ships for emcc: not modules, so neither source-mapped nor in the exports map. */
const EMCC_FILES = ["dist/emscripten/hakmem_library.js", "dist/emscripten/hakmem_malloc.c", "dist/emscripten/hakmem_layout.h"];

const BIN = join(ROOT, "node_modules", ".bin");

function assertOk(r: Finished, what: string): void {
  assert.equal(r.code, 0, describeFailure(r, what));
}

/** The files of a .tgz (ustar, as npm writes it): path (without the "package/" prefix) → bytes. */
function untar(tgz: Buffer): Map<string, Buffer> {
  const tar = gunzipSync(tgz);
  const files = new Map<string, Buffer>();
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const field = (start: number, length: number) => header.subarray(start, start + length).toString("utf8").replace(/\0.*$/s, "");
    const name = field(0, 100);
    const prefix = field(345, 155);
    const size = parseInt(field(124, 12).trim(), 8);
    const type = field(156, 1);
    const path = (prefix === "" ? name : `${prefix}/${name}`).replace(/^package\//, "");
    if (type === "0" || type === "") files.set(path, tar.subarray(at + 512, at + 512 + size));
    at += 512 + Math.ceil(size / 512) * 512;
  }
  return files;
}

interface Snippet {
  /** 1-based line of the opening fence in README.md. */
  line: number;
  code: string;
  /** What it must print, line by line: the text after `// →` on each line that has one. */
  expected: string[];
}

/** Every ```js block of README.md. Blocks in other languages than js and sh are refused. */
function readmeSnippets(readme: string): Snippet[] {
  const snippets: Snippet[] = [];
  const lines = readme.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const fence = /^```(\S*)\s*$/.exec(lines[i]!);
    if (fence === null) continue;
    const lang = fence[1]!;
    let j = i + 1;
    while (j < lines.length && lines[j] !== "```") j++;
    assert.ok(j < lines.length, `README.md line ${i + 1}: the code block is not closed`);
    // Only js blocks are run: a ts or javascript block would escape the check, so none may exist.
    assert.ok(["js", "sh", ""].includes(lang), `README.md line ${i + 1}: a \`\`\`${lang} block; snippets are \`\`\`js (run by this test) or \`\`\`sh`);
    if (lang === "js") {
      const body = lines.slice(i + 1, j);
      const expected = body.flatMap((l) => {
        const m = /\/\/ → (.*)$/.exec(l);
        return m === null ? [] : [m[1]!.trimEnd()];
      });
      snippets.push({ line: i + 1, code: body.join("\n") + "\n", expected });
    }
    i = j;
  }
  return snippets;
}

describe("the packed package", () => {
  let work = "";
  let tgz = Buffer.alloc(0);
  let files = new Map<string, Buffer>();
  let tarball = "";
  let project = "";
  let snippets: Snippet[] = [];

  before(async () => {
    assert.ok(existsSync(join(ROOT, "dist", "index.js")), "run `npm run build` first (npm test does)");
    work = await mkdtemp(join(tmpdir(), "hakmem-package-"));
    // --ignore-scripts: dist/ is built already (prepack would build it again).
    const pack = await run("npm", ["pack", "--json", "--ignore-scripts", "--pack-destination", work], ROOT);
    assertOk(pack, "npm pack");
    const [info] = JSON.parse(pack.stdout) as Array<{ filename: string }>;
    tarball = join(work, info!.filename);
    tgz = await readFile(tarball);
    files = untar(tgz);

    project = join(work, "consumer");
    snippets = readmeSnippets(await readFile(join(ROOT, "README.md"), "utf8"));
    await mkdir(project);
    await writeFile(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));
    // The package has no dependencies: installing the .tgz needs no registry.
    const install = await run("npm", ["install", "--offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], project);
    assertOk(install, "npm install of the tarball");
  });

  after(async () => {
    if (work !== "") await rm(work, { recursive: true, force: true });
  });

  test("the tarball holds dist/ for every module of src/, src/, the Emscripten files, README, LICENSE, CHANGELOG, package.json; nothing else", async () => {
    const modules = (await readdir(join(ROOT, "src"), { recursive: true }))
      .filter((f) => f.endsWith(".ts"))
      .map((f) => f.slice(0, -3).split("\\").join("/"));
    // The Emscripten C file and JS library (built by scripts/build_emscripten.mjs) are files for emcc.
    const expected = new Set(["package.json", "README.md", "LICENSE", "CHANGELOG.md", ...EMCC_FILES]);
    for (const m of modules) {
      expected.add(`src/${m}.ts`);
      for (const ext of [".js", ".js.map", ".d.ts", ".d.ts.map"]) expected.add(`dist/${m}${ext}`);
    }
    const got = [...files.keys()].sort();
    assert.deepEqual(got, [...expected].sort());
  });

  test("every source map resolves inside the tarball", () => {
    let maps = 0;
    for (const [path, bytes] of files) {
      if ((path.endsWith(".js") || path.endsWith(".d.ts")) && !EMCC_FILES.includes(path)) {
        const m = /\/\/# sourceMappingURL=(\S+)\s*$/.exec(bytes.toString("utf8"));
        assert.ok(m !== null, `${path} has no sourceMappingURL`);
        const target = posix.normalize(posix.join(posix.dirname(path), m[1]!));
        assert.ok(files.has(target), `${path} points at ${target}, which is not in the tarball`);
      }
      if (!path.endsWith(".map")) continue;
      maps++;
      const map = JSON.parse(bytes.toString("utf8")) as { sources: string[]; sourceRoot?: string };
      assert.ok(map.sources.length > 0, `${path} names no source`);
      for (const source of map.sources) {
        const target = posix.normalize(posix.join(posix.dirname(path), map.sourceRoot ?? "", source));
        assert.ok(files.has(target), `${path}: source ${source} (${target}) is not in the tarball`);
      }
    }
    assert.ok(maps > 0, "no source map in the tarball");
  });

  test("publint (strict, down to suggestions) has no message", async () => {
    const { publint } = await import("publint");
    const { formatMessage } = await import("publint/utils");
    const buffer = tgz.buffer.slice(tgz.byteOffset, tgz.byteOffset + tgz.byteLength) as ArrayBuffer;
    const result = await publint({ pack: { tarball: buffer }, level: "suggestion", strict: true });
    assert.deepEqual(result.messages.map((m) => `${m.type} ${m.code}: ${formatMessage(m, result.pkg)}`), []);
  });

  test("@arethetypeswrong/cli (profile esm-only) finds no problem", async () => {
    const r = await run(process.execPath, [join(ROOT, "node_modules", "@arethetypeswrong", "cli", "dist", "index.js"), tarball, "--profile", "esm-only", "--format", "json"], work);
    // The exit code applies the profile; the report lists every finding, also those it ignores.
    assertOk(r, "attw --profile esm-only");
    const report = JSON.parse(r.stdout) as { analysis: { types: { kind: string }; problems: Array<{ kind: string; resolutionKind?: string }> } };
    assert.equal(report.analysis.types.kind, "included");
    // The findings esm-only ignores: CommonJS code cannot require() this ESM-only package, and
    // node10 resolution (before exports maps) cannot reach the "hakmem/emscripten" subpath.
    for (const p of report.analysis.problems) {
      const ignored = (p.kind === "CJSResolvesToESM" && p.resolutionKind === "node16-cjs") || p.resolutionKind === "node10";
      assert.ok(ignored, JSON.stringify(p));
    }
  });

  test("the README has js snippets to run, each announcing what it prints", () => {
    assert.ok(snippets.length >= 3, `README.md has ${snippets.length} js snippets`);
    for (const s of snippets) {
      assert.match(s.code, /from "hakmem"/, `README.md line ${s.line}: the snippet does not import hakmem`);
      assert.ok(s.expected.length > 0, `README.md line ${s.line}: the snippet prints nothing to check (add // → comments)`);
    }
  });

  test("every README js snippet type-checks against the package's declarations and runs, printing what it says", async () => {
    // Files first: the WebAssembly snippet needs its module, built with the command it names.
    const names = snippets.map((_, i) => `snippet-${i + 1}.mjs`);
    await Promise.all(snippets.map((s, i) => writeFile(join(project, names[i]!), s.code)));
    for (const s of snippets) {
      const m = /^\/\/ (\S+\.wasm): npx asc (.*)$/m.exec(s.code);
      if (m === null) continue;
      const args = m[2]!.trim().split(/\s+/);
      const out = args.indexOf("-o");
      assert.ok(out >= 0 && args[out + 1] === m[1], `README.md line ${s.line}: the asc command must write ${m[1]} with -o`);
      args[out + 1] = join(project, m[1]!);
      assertOk(await run(join(BIN, "asc"), args, ROOT), `README.md line ${s.line}: npx asc ${m[2]}`);
    }
    // Type-check as JavaScript (checkJs) against node_modules/hakmem's .d.ts files.
    await writeFile(
      join(project, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          allowJs: true, checkJs: true, noEmit: true, strict: false, skipLibCheck: true,
          module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", lib: ["ES2024", "DOM"],
          types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")],
        },
        include: names,
      }),
    );
    assertOk(await run(join(BIN, "tsc"), ["-p", "tsconfig.json"], project), "tsc on the README snippets");
    for (const [i, s] of snippets.entries()) {
      const r = await run(process.execPath, [names[i]!], project);
      assertOk(r, `README.md line ${s.line} (${names[i]})`);
      assert.deepEqual(r.stdout.trimEnd().split("\n"), s.expected, `README.md line ${s.line}: what the snippet printed (left) against its // → comments (right)`);
    }
  });

  test("npm installed the tarball's files", async () => {
    const installed = join(project, "node_modules", "hakmem");
    const pkg = JSON.parse(await readFile(join(installed, "package.json"), "utf8")) as { version: string };
    const ours = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
    assert.equal(pkg.version, ours.version);
    for (const [path, bytes] of files) assert.deepEqual(await readFile(join(installed, path)), bytes, `node_modules/hakmem/${path}`);
  });
});

test("LICENSE is MIT, held by the hakmem contributors, as package.json says", async () => {
  const license = await readFile(join(ROOT, "LICENSE"), "utf8");
  assert.match(license, /^MIT License\n\nCopyright \(c\) \d{4} hakmem contributors\n/);
  assert.match(license, /THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND/);
  const pkg = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { license: string; dependencies?: object };
  assert.equal(pkg.license, "MIT");
  assert.equal(pkg.dependencies, undefined, "the allocator has no run-time dependencies");
});

test("CHANGELOG.md has a section for the version in package.json", async () => {
  const changelog = await readFile(join(ROOT, "CHANGELOG.md"), "utf8");
  const { version } = JSON.parse(await readFile(join(ROOT, "package.json"), "utf8")) as { version: string };
  assert.match(changelog, new RegExp(`^## \\[${version.replace(/\./g, "\\.")}\\]`, "m"), `no "## [${version}]" section`);
});
