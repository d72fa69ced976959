/*
 * c_api.c — the C allocation API of a module linked with hakmem (test/emscripten.test.ts).
 * Every check prints "ok <name>" or "FAIL <name>: <why>"; the exit code is the number of
 * failures. With the argument "grow" it also grows the heap past 256 MiB with contents intact.
 */
#include <errno.h>
#include <malloc.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int failures;

#define CHECK(name, cond, ...)                         \
  do {                                                 \
    if (cond) {                                        \
      printf("ok %s\n", name);                         \
    } else {                                           \
      printf("FAIL %s: ", name);                       \
      printf(__VA_ARGS__);                             \
      printf("\n");                                    \
      failures++;                                      \
    }                                                  \
  } while (0)

/* A byte pattern that depends on the block and the offset, to catch overlap and lost contents. */
static unsigned char pattern(uintptr_t block, size_t i) {
  return (unsigned char)((block * 2654435761u) >> 24) ^ (unsigned char)(i * 31);
}

static void fill(unsigned char *p, size_t n, uintptr_t tag) {
  for (size_t i = 0; i < n; i++) p[i] = pattern(tag, i);
}

static int intact(const unsigned char *p, size_t n, uintptr_t tag) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != pattern(tag, i)) return 0;
  return 1;
}

static void test_malloc_zero(void) {
  void *a = malloc(0), *b = malloc(0);
  CHECK("malloc(0) returns distinct non-NULL blocks", a != NULL && b != NULL && a != b, "%p %p", a, b);
  CHECK("malloc(0) is freeable", (free(a), free(b), 1), "");
}

static void test_malloc_sizes(void) {
  enum { N = 600 };
  static unsigned char *blocks[N];
  static size_t sizes[N];
  int aligned = 1, usable = 1;
  for (int i = 0; i < N; i++) {
    sizes[i] = (size_t)(i * i * 7 % 70000) + 1;
    blocks[i] = malloc(sizes[i]);
    if (blocks[i] == NULL) {
      CHECK("malloc of 1..70000 bytes", 0, "malloc(%zu) returned NULL", sizes[i]);
      return;
    }
    if (((uintptr_t)blocks[i] & 7) != 0 || (sizes[i] >= 16 && ((uintptr_t)blocks[i] & 15) != 0)) aligned = 0;
    if (malloc_usable_size(blocks[i]) < sizes[i]) usable = 0;
    fill(blocks[i], sizes[i], (uintptr_t)i);
  }
  int ok = 1;
  for (int i = 0; i < N; i++) ok &= intact(blocks[i], sizes[i], (uintptr_t)i);
  CHECK("blocks are 8-byte aligned, 16 from 16 bytes", aligned, "");
  CHECK("malloc_usable_size >= requested", usable, "");
  CHECK("600 blocks keep their contents (no overlap)", ok, "");
  for (int i = 0; i < N; i++) free(blocks[i]);
  CHECK("malloc_usable_size(NULL) is 0", malloc_usable_size(NULL) == 0, "%zu", malloc_usable_size(NULL));
}

static void test_calloc(void) {
  unsigned char *p = calloc(1000, 3);
  int zero = p != NULL;
  for (int i = 0; p != NULL && i < 3000; i++) zero &= p[i] == 0;
  CHECK("calloc zeroes", zero, "");
  /* Reused memory must come back zeroed too. */
  memset(p, 0xab, 3000);
  free(p);
  p = calloc(3000, 1);
  zero = p != NULL;
  for (int i = 0; p != NULL && i < 3000; i++) zero &= p[i] == 0;
  CHECK("calloc zeroes a reused block", zero, "");
  free(p);

  errno = 0;
  void *q = calloc(SIZE_MAX / 2 + 2, 2);
  CHECK("calloc overflow returns NULL with ENOMEM", q == NULL && errno == ENOMEM, "%p errno %d", q, errno);
  errno = 0;
  q = calloc(65536, 65537);
  CHECK("calloc overflow (65536 x 65537) returns NULL with ENOMEM", q == NULL && errno == ENOMEM, "%p errno %d", q, errno);
  q = calloc(0, 5);
  CHECK("calloc(0, n) returns a block", q != NULL, "NULL");
  free(q);
}

static void test_malloc_failure(void) {
  errno = 0;
  void *p = malloc(SIZE_MAX - 4096);
  CHECK("malloc(SIZE_MAX - 4096) returns NULL with ENOMEM", p == NULL && errno == ENOMEM, "%p errno %d", p, errno);
  errno = 0;
  p = malloc((size_t)3 << 30);
  CHECK("malloc(3 GiB) returns NULL with ENOMEM", p == NULL && errno == ENOMEM, "%p errno %d", p, errno);
}

static void test_realloc(void) {
  unsigned char *p = realloc(NULL, 100);
  CHECK("realloc(NULL, n) allocates", p != NULL && malloc_usable_size(p) >= 100, "%p", (void *)p);
  fill(p, 100, 1);
  size_t size = 100;
  int kept = 1;
  for (size_t next = 200; next <= 3u << 20; next = next * 3 / 2) {
    p = realloc(p, next);
    if (p == NULL) break;
    kept &= intact(p, size, 1);
    fill(p, next, 1);
    size = next;
  }
  CHECK("realloc upwards to 3 MiB keeps contents", p != NULL && kept, "%p", (void *)p);
  for (size_t next = size / 2; next >= 10; next /= 3) {
    p = realloc(p, next);
    kept &= p != NULL && intact(p, next, 1);
  }
  CHECK("realloc downwards keeps contents", kept, "");

  errno = 0;
  unsigned char *q = realloc(p, SIZE_MAX - 4096);
  CHECK("failed realloc returns NULL with ENOMEM", q == NULL && errno == ENOMEM, "%p errno %d", (void *)q, errno);
  CHECK("failed realloc leaves the block intact", intact(p, 10, 1), "");

  void *z = realloc(p, 0);
  CHECK("realloc(p, 0) frees p and returns a minimal block (as dlmalloc)", z != NULL, "NULL");
  free(z);
}

static void test_alignment(void) {
  int memalign_ok = 1, aligned_ok = 1, posix_ok = 1;
  for (size_t a = 1; a <= (size_t)1 << 20; a <<= 1) {
    for (size_t n = 1; n <= 70000; n = n * 5 + 3) {
      unsigned char *p = memalign(a, n);
      if (p == NULL || ((uintptr_t)p & (a - 1)) != 0 || malloc_usable_size(p) < n) memalign_ok = 0;
      if (p != NULL) fill(p, n, a + n);
      unsigned char *q = aligned_alloc(a, n);
      if (q == NULL || ((uintptr_t)q & (a - 1)) != 0) aligned_ok = 0;
      void *r = (void *)1;
      if (a >= sizeof(void *)) {
        int rc = posix_memalign(&r, a, n);
        if (rc != 0 || r == NULL || ((uintptr_t)r & (a - 1)) != 0) posix_ok = 0;
        free(r);
      }
      if (p != NULL && !intact(p, n, a + n)) memalign_ok = 0;
      free(p);
      free(q);
    }
  }
  CHECK("memalign: every power of two from 1 to 1 MiB", memalign_ok, "");
  CHECK("aligned_alloc: every power of two from 1 to 1 MiB", aligned_ok, "");
  CHECK("posix_memalign: every power of two from sizeof(void *) to 1 MiB", posix_ok, "");

  void *out = (void *)0x1234;
  int rc = posix_memalign(&out, 24, 100);
  CHECK("posix_memalign(24) returns EINVAL, *out untouched", rc == EINVAL && out == (void *)0x1234, "rc %d out %p", rc, out);
  rc = posix_memalign(&out, 2, 100);
  CHECK("posix_memalign(2) returns EINVAL (below sizeof(void *))", rc == EINVAL && out == (void *)0x1234, "rc %d", rc);
  rc = posix_memalign(&out, 64, SIZE_MAX - 4096);
  CHECK("posix_memalign too large returns ENOMEM, *out untouched", rc == ENOMEM && out == (void *)0x1234, "rc %d out %p", rc, out);
  errno = 0;
  void *p = aligned_alloc(48, 96);
  CHECK("aligned_alloc(48) returns NULL with EINVAL", p == NULL && errno == EINVAL, "%p errno %d", p, errno);
}

static void test_sbrk(void) {
  void *top = sbrk(0);
  CHECK("sbrk(0) is the top of the Memory", (uintptr_t)top >= 16u << 20 && (uintptr_t)top % 65536 == 0, "%p", top);
  unsigned char *p = sbrk(1000);
  CHECK("sbrk(n) returns n usable bytes from the heap", p != (void *)-1 && malloc_usable_size(p) >= 1000, "%p", (void *)p);
  errno = 0;
  void *q = sbrk(-4096);
  CHECK("sbrk(negative) fails with ENOMEM", q == (void *)-1 && errno == ENOMEM, "%p errno %d", q, errno);
}

/* Grows the heap past 256 MiB in 1 MiB blocks, each with its own pattern, then checks them all. */
static void test_growth(void) {
  enum { MB = 1 << 20, COUNT = 300 };
  static unsigned char *blocks[COUNT];
  int got = 0;
  for (; got < COUNT; got++) {
    blocks[got] = malloc(MB);
    if (blocks[got] == NULL) break;
    fill(blocks[got], MB, (uintptr_t)got);
    /* Small blocks between the large ones, so that growth interleaves with the size classes. */
    free(malloc(64 + got));
  }
  int ok = got == COUNT;
  for (int i = 0; i < got; i++) ok &= intact(blocks[i], MB, (uintptr_t)i);
  CHECK("growth to 300 MiB keeps every block's contents", ok, "%d of %d blocks", got, COUNT);
  CHECK("the Memory grew past 256 MiB", (uintptr_t)sbrk(0) >= 256u * MB, "top %p", sbrk(0));
  for (int i = 0; i < got; i++) free(blocks[i]);
}

int main(int argc, char **argv) {
  test_malloc_zero();
  test_malloc_sizes();
  test_calloc();
  test_malloc_failure();
  test_realloc();
  test_alignment();
  test_sbrk();
  if (argc > 1 && strcmp(argv[1], "grow") == 0) test_growth();
  printf("%d failed\n", failures);
  return failures;
}
