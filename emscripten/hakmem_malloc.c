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
 * A call from wasm into JS costs about what dlmalloc's whole malloc + free does, so malloc and
 * free first try, here in wasm, what Heap.malloc and Heap.free try first in JS: pop the calling
 * thread's cache list of the size's class; push a block of the thread's own pages onto it after
 * the same tests (in range, a small page this thread owns, a block start, not carrying the free
 * key). They read the same words of the heap that JS does (src/emscripten/fast_path.ts says which,
 * hakmem_layout.h has the layout's numbers). Everything else goes to JS, as does every call of a
 * thread whose heap is checked or traced, or does not exist yet.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <emscripten/emscripten.h>
#include "hakmem_layout.h"

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
extern int hakmem_js_fast_path(void *words, uint32_t layout_version);

/* Where the calling thread's cache lists lie (word indices: byte address / 4), written by
 * hakmem_js_fast_path in the order of fast_path.ts FAST_WORDS; cache == 0: no fast path. */
struct hakmem_fast {
  uint32_t cache;      /* class 0's list (TC words per class) */
  uint32_t classes;    /* the class table: class of sizes 0..1023 by (size + 7) / 8 */
  uint32_t dir;        /* the segment directory: page table bias per segment */
  uint32_t data_start; /* first data byte */
  uint32_t seg_shift;
  uint32_t slot;       /* the thread's slot number, as page tags hold it */
  int32_t key;         /* the heap's free key */
  uint32_t mapped;     /* the header's mapped page count */
  uint32_t asked;      /* C only: hakmem_js_fast_path was called */
};
static __thread struct hakmem_fast fast;

/* Word i of the Memory (i > 0: never a null pointer). */
#define WORD(i) (*(int32_t *)(uintptr_t)((uint32_t)(i) << 2))

static void ask_fast_path(void) {
  fast.asked = 1;
  hakmem_js_fast_path(&fast, HAKMEM_LAYOUT_VERSION);
}

/* 1 when the calling thread's malloc and free run their fast paths here in wasm (its heap exists
 * and is neither checked nor traced), else 0. */
EMSCRIPTEN_KEEPALIVE int hakmem_fast_path(void) {
  return fast.cache != 0;
}

/* The linker's symbol for the end of static data and the main thread's stack. */
extern unsigned char __heap_base;

/* Where the heap may start: read by the library when it creates the heap. */
EMSCRIPTEN_KEEPALIVE uintptr_t hakmem_heap_base(void) {
  return (uintptr_t)&__heap_base;
}

/* Heap.malloc's fast path: the class of the size, then a pop of the thread's list. */
void *malloc(size_t size) {
  uint32_t cache = fast.cache;
  if (cache != 0 && size <= HAKMEM_MID_MAX) {
    uint32_t cls;
    if (size <= 1023) {
      cls = (uint32_t)WORD(fast.classes + ((size + 7) >> 3));
    } else { /* classOf for mid sizes: in (2^k, 2^(k+1)] classes step by 2^(k-3) */
      uint32_t k = 31 - (uint32_t)__builtin_clz((uint32_t)size - 1);
      cls = 9 + ((k - 7) << 3) + (((uint32_t)size - 1 - (1u << k)) >> (k - 3));
    }
    uint32_t c = cache + cls * HAKMEM_TC_WORDS;
    uint32_t b = (uint32_t)WORD(c + HAKMEM_TC_HEAD);
    if (b != 0) {
      WORD(c + HAKMEM_TC_HEAD) = WORD(b >> 2);
      WORD((b >> 2) + HAKMEM_BLOCK_KEY) = 0;
      WORD(c + HAKMEM_TC_ROOM) += 1;
      return (void *)(uintptr_t)b;
    }
  }
  void *p = hakmem_js_malloc(size);
  if (p == NULL) errno = ENOMEM;
  if (!fast.asked) ask_fast_path();
  return p;
}

/* Heap.free's fast path: a block start of a small page this thread owns, not free, and room in
 * the list of its class. */
void free(void *ptr) {
  uint32_t p = (uint32_t)(uintptr_t)ptr;
  uint32_t cache = fast.cache;
  if (cache != 0 && p - fast.data_start < ((uint32_t)WORD(fast.mapped) << HAKMEM_PAGE_SHIFT)) {
    uint32_t bias = (uint32_t)WORD(fast.dir + ((p - fast.data_start) >> fast.seg_shift));
    uint32_t e = (uint32_t)WORD(((p >> HAKMEM_PAGE_SHIFT) << HAKMEM_ENTRY_SHIFT) + bias);
    uint32_t tag = (uint32_t)WORD(e + HAKMEM_PG_TAG);
    if (tag >> HAKMEM_TAG_SLOT == fast.slot) {
      /* p starts a block iff rotr((p - page start) * inverse, shift) < blocks carved */
      uint32_t y = (p - ((e - bias) << HAKMEM_PAGE_START_SHIFT)) * (uint32_t)WORD(e + HAKMEM_PG_INV);
      uint32_t s = (tag >> HAKMEM_TAG_SHIFT) & HAKMEM_TAG_SHIFT_MASK;
      uint32_t w = p >> 2;
      if (((y >> s) | (y << ((32 - s) & 31))) < (uint32_t)WORD(e + HAKMEM_PG_RESERVED) && WORD(w + HAKMEM_BLOCK_KEY) != fast.key) {
        uint32_t c = cache + (tag & HAKMEM_TAG_CLASS_MASK) * HAKMEM_TC_WORDS;
        int32_t room = WORD(c + HAKMEM_TC_ROOM);
        if (room > 0) {
          WORD(w) = WORD(c + HAKMEM_TC_HEAD);
          WORD(w + HAKMEM_BLOCK_KEY) = fast.key;
          WORD(c + HAKMEM_TC_HEAD) = (int32_t)p;
          WORD(c + HAKMEM_TC_ROOM) = room - 1;
          return;
        }
      }
    }
  }
  if (ptr == NULL) return;
  hakmem_js_free(ptr);
  if (!fast.asked) ask_fast_path();
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
