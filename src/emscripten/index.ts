/**
 * hakmem/emscripten — where the Emscripten integration's files are, and the emcc arguments that
 * link them. For build scripts (Node): the files themselves are a C source and an Emscripten JS
 * library, used by emcc, not imported.
 *
 * ```ts
 * import { emccArgs } from "hakmem/emscripten";
 * execFileSync("emcc", ["prog.c", ...emccArgs(), "-o", "prog.js"]);
 * ```
 *
 * At run time the module's glue creates the heap before static constructors run and sets
 * `Module.hakmemHeap` (the calling thread's {@link Heap}); see emscripten/library.js.
 */

import { fileURLToPath } from "node:url";

/** The Emscripten JS library, for `--js-library`. */
export const libraryPath: string = fileURLToPath(new URL("./hakmem_library.js", import.meta.url));

/**
 * The C allocation functions (malloc, free, …), to compile into the module. It includes
 * hakmem_layout.h from the same directory.
 */
export const sourcePath: string = fileURLToPath(new URL("./hakmem_malloc.c", import.meta.url));

/**
 * The emcc arguments that make hakmem the module's heap: the C source, the JS library and
 * `-sMALLOC=none`. Add `-sALLOW_MEMORY_GROWTH` for a heap that grows past INITIAL_MEMORY.
 */
export function emccArgs(): string[] {
  return [sourcePath, "--js-library", libraryPath, "-sMALLOC=none"];
}
