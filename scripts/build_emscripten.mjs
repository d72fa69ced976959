// build_emscripten — writes the Emscripten integration into OUT_DIR (dist/emscripten for the
// package, build/src/emscripten for tests and benchmarks):
//   hakmem_library.js  emscripten/library.js with the hakmem runtime inlined as $hakmemApi
//   hakmem_malloc.c    the C allocation functions (copied)
//
// The runtime (src/emscripten/runtime.ts and the allocator modules it imports) is compiled to
// CommonJS by tsc (tsconfig.emscripten.json) and wrapped into one expression that evaluates to
// runtime.ts's exports: each module becomes a function(exports, require), and require resolves
// relative paths among them. Emscripten's glue is a classic script that must have the heap
// synchronously (static constructors call malloc before main), so the code is inlined rather
// than imported.
//
// usage: node scripts/build_emscripten.mjs OUT_DIR

import { execFileSync } from "node:child_process";
import { copyFileSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, sep } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const outDir = process.argv[2];
if (outDir === undefined) {
  process.stderr.write("usage: node scripts/build_emscripten.mjs OUT_DIR\n");
  process.exit(2);
}
const cjsDir = join(root, "build", "emscripten-cjs");
const ENTRY = "emscripten/runtime.js";

rmSync(cjsDir, { recursive: true, force: true });
const tsc = createRequire(import.meta.url).resolve("typescript/bin/tsc");
execFileSync(process.execPath, [tsc, "-p", join(root, "tsconfig.emscripten.json")], { stdio: "inherit" });

function listJs(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.isDirectory() ? listJs(join(dir, d.name)) : d.name.endsWith(".js") ? [join(dir, d.name)] : [],
  );
}

const modules = listJs(cjsDir).map((file) => {
  const name = relative(cjsDir, file).split(sep).join("/");
  return `${JSON.stringify(name)}: function (exports, require) {\n${readFileSync(file, "utf8")}\n}`;
});
if (!modules.some((m) => m.startsWith(JSON.stringify(ENTRY)))) throw new Error(`no ${ENTRY} in ${cjsDir}`);

const bundle = `(function () {
var modules = {
${modules.join(",\n")}
};
var cache = {};
function load(name) {
  var m = cache[name];
  if (m !== undefined) return m;
  var exports = (cache[name] = {});
  var dir = name.lastIndexOf("/") < 0 ? "" : name.slice(0, name.lastIndexOf("/"));
  modules[name](exports, function (spec) { return load(resolve(dir, spec)); });
  return exports;
}
function resolve(dir, spec) {
  var parts = dir === "" ? [] : dir.split("/");
  for (var seg of spec.split("/")) {
    if (seg === "..") parts.pop();
    else if (seg !== ".") parts.push(seg);
  }
  return parts.join("/");
}
return load(${JSON.stringify(ENTRY)});
})()`;

// Emscripten runs its preprocessor and macro expansion over the library file's text.
if (bundle.includes("{{{") || bundle.includes("}}}")) throw new Error("the runtime bundle contains {{{ or }}}, which Emscripten would expand");
// Emscripten's -O2 passes edit the glue at offsets that go wrong past non-ASCII characters (seen
// with 3.1.6: code after an "…" in a message was cut), so the bundle is made ASCII: non-ASCII
// characters occur only in string and template literals, where \uXXXX means the same.
const asciiBundle = bundle.replace(/[^\x00-\x7f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);

const template = readFileSync(join(root, "emscripten", "library.js"), "utf8");
if (!template.includes("HAKMEM_RUNTIME_BUNDLE")) throw new Error("emscripten/library.js has no HAKMEM_RUNTIME_BUNDLE placeholder");
const library = template.replace("HAKMEM_RUNTIME_BUNDLE", () => JSON.stringify(`=${asciiBundle}`));

mkdirSync(outDir, { recursive: true });
writeFileSync(join(outDir, "hakmem_library.js"), library);
copyFileSync(join(root, "emscripten", "hakmem_malloc.c"), join(outDir, "hakmem_malloc.c"));
rmSync(cjsDir, { recursive: true, force: true });
