/*
 * hakmem_malloc.c - the C allocation functions of an Emscripten module whose heap is hakmem.
 * Compile it into the module with the JS library beside it:
 *
 *   emcc prog.c hakmem_malloc.c --js-library hakmem_library.js -sMALLOC=none
 *
 * Why C and not only the JS library: Emscripten links pthreads, C++ exception and several other
 * builds with `--export=malloc --export=free --export=emscripten_builtin_memalign`, which only a
 * function defined in wasm satisfies. So the allocation functions live here, hold the C
 * semantics (errno, NULL on failure, calloc overflow, posix_memalign's return codes), and call
 * the heap in JS through the imports hakmem_js_* that the library defines. They also hand the
 * library the address of __heap_base, which JS cannot see otherwise.
 *
 * The functions are kept tiny so that the call to JS is the only cost over the wasm call.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <emscripten/emscripten.h>

#ifdef __cplusplus /* em++ compiles .c files as C++ */
extern "C" {
#endif

/* The heap in JS (hakmem_library.js). Sizes and pointers are passed as uint32. */
extern void *hakmem_js_malloc(size_t size);
extern void hakmem_js_free(void *ptr);
extern void *hakmem_js_calloc(size_t count, size_t size);
extern void *hakmem_js_realloc(void *ptr, size_t size);
extern void *hakmem_js_memalign(size_t alignment, size_t size);
extern size_t hakmem_js_usable_size(void *ptr);
extern void *hakmem_js_sbrk(intptr_t increment);

/* The linker's symbol for the end of static data and the main thread's stack. */
extern unsigned char __heap_base;

/* Where the heap may start: read by the library when it creates the heap. */
EMSCRIPTEN_KEEPALIVE uintptr_t hakmem_heap_base(void) {
  return (uintptr_t)&__heap_base;
}

void *malloc(size_t size) {
  void *p = hakmem_js_malloc(size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

void free(void *ptr) {
  if (ptr != NULL) hakmem_js_free(ptr);
}

void *calloc(size_t count, size_t size) {
  size_t bytes;
  if (__builtin_mul_overflow(count, size, &bytes)) {
    errno = ENOMEM;
    return NULL;
  }
  void *p = hakmem_js_calloc(count, size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

/* realloc(p, 0) frees p and returns a minimal block, as Emscripten's dlmalloc and musl do. */
void *realloc(void *ptr, size_t size) {
  if (ptr == NULL) return malloc(size);
  if (size == 0) {
    hakmem_js_free(ptr);
    return malloc(0);
  }
  void *p = hakmem_js_realloc(ptr, size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

/* A power of two (0 counts as 1, as in musl); anything else is EINVAL. */
static int valid_alignment(size_t alignment) {
  return (alignment & (alignment - 1)) == 0;
}

void *memalign(size_t alignment, size_t size) {
  if (!valid_alignment(alignment)) {
    errno = EINVAL;
    return NULL;
  }
  void *p = hakmem_js_memalign(alignment, size);
  if (p == NULL) errno = ENOMEM;
  return p;
}

void *aligned_alloc(size_t alignment, size_t size) {
  return memalign(alignment, size);
}

/* Returns EINVAL or ENOMEM without touching *out, as POSIX says. */
int posix_memalign(void **out, size_t alignment, size_t size) {
  if (alignment < sizeof(void *) || !valid_alignment(alignment)) return EINVAL;
  void *p = hakmem_js_memalign(alignment, size);
  if (p == NULL) return ENOMEM;
  *out = p;
  return 0;
}

size_t malloc_usable_size(void *ptr) {
  return ptr == NULL ? 0 : hakmem_js_usable_size(ptr);
}

/* sbrk never moves a break into the heap: see sbrk in src/emscripten/runtime.ts. */
void *sbrk(intptr_t increment) {
  void *p = hakmem_js_sbrk(increment);
  if (p == (void *)-1) errno = ENOMEM;
  return p;
}

/* Emscripten's own code allocates through these (thread stacks, TLS, mmap), musl through the
 * __libc_ names (atexit, locales, time zones, dlerror). */
void *emscripten_builtin_malloc(size_t size) __attribute__((alias("malloc")));
void emscripten_builtin_free(void *ptr) __attribute__((alias("free")));
void *emscripten_builtin_memalign(size_t alignment, size_t size) __attribute__((alias("memalign")));
void *__libc_malloc(size_t size) __attribute__((alias("malloc")));
void __libc_free(void *ptr) __attribute__((alias("free")));
void *__libc_calloc(size_t count, size_t size) __attribute__((alias("calloc")));
void *__libc_realloc(void *ptr, size_t size) __attribute__((alias("realloc")));

#ifdef __cplusplus
}
#endif
