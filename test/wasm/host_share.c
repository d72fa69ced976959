/*
 * host_share.c — C functions that the host (test/emscripten.test.ts) calls to allocate, check and
 * free blocks from C, and to grow the Memory behind the heap's back. Blocks carry the pattern
 * byte i = (tag + 7 i) mod 256, written and checked alike by C and by JS.
 */
#include <emscripten.h>
#include <emscripten/heap.h>
#include <stdint.h>
#include <stdlib.h>

EMSCRIPTEN_KEEPALIVE unsigned char *c_alloc(size_t n, unsigned tag) {
  unsigned char *p = malloc(n);
  for (size_t i = 0; p != NULL && i < n; i++) p[i] = (unsigned char)(tag + 7 * i);
  return p;
}

/* Checks the pattern, frees the block; 1 when the pattern was intact. */
EMSCRIPTEN_KEEPALIVE int c_check_free(unsigned char *p, size_t n, unsigned tag) {
  int ok = p != NULL;
  for (size_t i = 0; ok && i < n; i++) ok = p[i] == (unsigned char)(tag + 7 * i);
  free(p);
  return ok;
}

/* Emscripten's own growth (what sbrk-based allocators call). */
EMSCRIPTEN_KEEPALIVE int c_resize_heap(size_t bytes) { return emscripten_resize_heap(bytes); }

/* memory.grow from wasm: nobody in JS is told. Returns the old size in pages, or -1. */
EMSCRIPTEN_KEEPALIVE int c_memory_grow(size_t pages) { return (int)__builtin_wasm_memory_grow(0, pages); }
