/*
 * ring.c — the single-worker workloads of the suite in C, for the native rows (native-glibc,
 * native-mimalloc, native-jemalloc, native-tcmalloc; bench/peers/native.ts builds this file with
 * `cc -O2` at bench time and runs it with the allocator under test LD_PRELOADed).
 *
 * The loops are those of bench/workloads/random_mixed.ts (runRing), memory.ts (the same loop with
 * live-byte bookkeeping) and realloc_grow.ts, step for step: the same xorshift32 draws, the same
 * sizes ("x mod m" is the uint32 modulus, which is what `x % m` is on a uint32_t here), the same byte
 * write, the same final PRNG state as checksum (the suite checks it equals the JS loops'). Pointers
 * are kept in an array of void * (JS keeps uint32 offsets).
 *
 * Nothing can be optimised away: `escape()` after each byte write tells the compiler that memory
 * may be read there (an empty asm with a memory clobber: no instruction), and after each timed run
 * the first byte of every block still in the ring is summed and printed. Timing is CLOCK_MONOTONIC
 * around the loop only, as performance.now() is in JS.
 *
 * Method (as bench/child.ts for the JS peers): one process, `warmups` runs, then `runs` timed
 * runs of the same workload, all on the process's one malloc (steady state: no timed run pays the
 * heap's first touches). Every run frees all it allocated, outside the clock.
 *
 * Usage (argument order is fixed; the suite builds the command lines):
 *   ring W N seed minSize sizeRange track warmups runs
 *       ring loop; track = 1 adds memory.ts's bookkeeping (peak live requested bytes)
 *   realloc V rounds minSize maxSize warmups runs
 *       realloc_grow
 *   footprint W N minSize sizeRange seed...
 *       untimed: one thread per seed, each its own tracked ring, started together, every block
 *       written in full (so that the resident set holds every byte of every live block); prints
 *       each thread's peak live requested bytes and the process's resident set before the loops
 *       (VmRSS, once every thread and its ring exist) and its peak (VmHWM), /proc/self/status
 * Output: one line `@@BENCH-NATIVE {json}` on stdout; errors on stderr, exit status 1.
 * The environment variable BENCH_EXPECT_MALLOC, when set, must be a substring of the path of the
 * object that provides malloc (dladdr): an LD_PRELOAD that failed to load is an error, not a
 * silent run on glibc.
 */

#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Tells the compiler that memory may be read here: stores before it cannot be dropped. */
static inline void escape(void *p) { __asm__ volatile("" : : "g"(p) : "memory"); }

static void die(const char *what) {
  fprintf(stderr, "ring: %s\n", what);
  exit(1);
}

static uint32_t arg_u32(const char *s, const char *name) {
  char *end;
  errno = 0;
  unsigned long v = strtoul(s, &end, 10);
  if (errno != 0 || *end != '\0' || v > 0xffffffffUL) {
    fprintf(stderr, "ring: %s must be an unsigned 32-bit integer, got \"%s\"\n", name, s);
    exit(1);
  }
  return (uint32_t)v;
}

static double now_seconds(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static inline uint32_t xorshift32(uint32_t x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

struct outcome {
  uint64_t iterations;
  double seconds;
  uint32_t checksum;
  uint64_t peak_live; /* 0 unless tracked */
  uint64_t ring_bytes; /* sum of the first byte of each block left in the ring */
};

/* A ring of W slots and, for the tracked loop, each slot's requested size; written through once,
 * so that none of its pages is first touched inside a loop. */
struct ring {
  unsigned char **slots;
  uint32_t *sizes;
};

static struct ring ring_new(uint32_t W) {
  struct ring r = {malloc((size_t)W * sizeof *r.slots), malloc((size_t)W * sizeof *r.sizes)};
  if (r.slots == NULL || r.sizes == NULL) die("out of memory for the ring");
  memset(r.slots, 0, (size_t)W * sizeof *r.slots);
  memset(r.sizes, 0, (size_t)W * sizeof *r.sizes);
  return r;
}

/*
 * The ring loop of random_mixed.ts; with `track`, memory.ts's bookkeeping too; with `fill`, each
 * block is written in full instead of its first byte (the footprint runs: so that the resident set
 * counts every byte of every live block). Always inlined with constant flags: each caller gets
 * a loop of its own without the branches it does not take. The ring is left empty.
 */
static inline __attribute__((always_inline)) struct outcome ring_loop(struct ring r, uint32_t W, uint32_t N, uint32_t seed,
                                                                      uint32_t min_size, uint32_t size_range,
                                                                      const int track, const int fill) {
  unsigned char **ring = r.slots;
  uint32_t *sizes = r.sizes;
  uint32_t x = seed;
  uint64_t live = 0, peak_live = 0;
  double t0 = now_seconds();
  for (uint32_t i = 0; i < N; i++) {
    x = xorshift32(x);
    uint32_t slot = x % W;
    unsigned char *old = ring[slot];
    if (old != NULL) {
      free(old);
      if (track) live -= sizes[slot];
    }
    uint32_t size = min_size;
    if (track || size_range > 0) {
      x = xorshift32(x);
      size += x % size_range;
    }
    unsigned char *p = malloc(size);
    if (p == NULL) die("malloc returned NULL");
    if (fill) memset(p, (int)(i & 255), size);
    else p[0] = (unsigned char)(i & 255);
    escape(p);
    ring[slot] = p;
    if (track) {
      sizes[slot] = size;
      live += size;
      if (live > peak_live) peak_live = live;
    }
  }
  double seconds = now_seconds() - t0;
  struct outcome out = {N, seconds, x, peak_live, 0};
  for (uint32_t s = 0; s < W; s++) {
    if (ring[s] != NULL) {
      out.ring_bytes += ring[s][0];
      free(ring[s]);
      ring[s] = NULL;
    }
  }
  return out;
}

/* One timed run of the ring loop (track: memory.ts's bookkeeping). */
static __attribute__((noinline)) struct outcome run_ring(uint32_t W, uint32_t N, uint32_t seed, uint32_t min_size,
                                                        uint32_t size_range, int track) {
  struct ring r = ring_new(W);
  struct outcome out = track ? ring_loop(r, W, N, seed, min_size, size_range, 1, 0)
                             : ring_loop(r, W, N, seed, min_size, size_range, 0, 0);
  free(r.slots);
  free(r.sizes);
  return out;
}

/* realloc_grow.ts: V vectors grown minSize -> maxSize by realloc doubling, then freed. */
static __attribute__((noinline)) struct outcome run_realloc(uint32_t V, uint32_t rounds, uint32_t min_size,
                                                           uint32_t max_size) {
  unsigned char **vec = calloc(V, sizeof *vec);
  if (vec == NULL) die("out of memory for the vectors");
  uint64_t calls = 0, bytes = 0;
  double t0 = now_seconds();
  for (uint32_t r = 0; r < rounds; r++) {
    for (uint32_t v = 0; v < V; v++) {
      unsigned char *p = malloc(min_size);
      if (p == NULL) die("malloc returned NULL");
      p[0] = (unsigned char)v;
      escape(p);
      vec[v] = p;
    }
    calls += V;
    for (uint32_t size = min_size * 2; size <= max_size; size *= 2) {
      for (uint32_t v = 0; v < V; v++) {
        unsigned char *p = realloc(vec[v], size);
        if (p == NULL) die("realloc returned NULL");
        p[size - 1] = (unsigned char)v;
        escape(p);
        vec[v] = p;
      }
      calls += V;
    }
    for (uint32_t v = 0; v < V; v++) {
      bytes += vec[v][0];
      free(vec[v]);
    }
    calls += V;
  }
  double seconds = now_seconds() - t0;
  free(vec);
  struct outcome out = {calls, seconds, (uint32_t)calls, 0, bytes};
  return out;
}

static void print_run(const struct outcome *o, int first) {
  printf("%s{\"iterations\":%" PRIu64 ",\"seconds\":%.9f,\"checksum\":%" PRIu32 ",\"peakLiveBytes\":%" PRIu64
         ",\"ringBytes\":%" PRIu64 "}",
         first ? "" : ",", o->iterations, o->seconds, o->checksum, o->peak_live, o->ring_bytes);
}

/* The object malloc comes from, checked against BENCH_EXPECT_MALLOC; printed in the result. */
static const char *malloc_origin(void) {
  Dl_info info;
  void *(*volatile m)(size_t) = malloc;
  const char *path = dladdr((void *)m, &info) != 0 && info.dli_fname != NULL ? info.dli_fname : "?";
  const char *expect = getenv("BENCH_EXPECT_MALLOC");
  if (expect != NULL && expect[0] != '\0' && strstr(path, expect) == NULL) {
    fprintf(stderr, "ring: malloc comes from %s, not from %s (did the LD_PRELOAD load?)\n", path, expect);
    exit(1);
  }
  return path;
}

/* A line of /proc/self/status ("VmRSS", "VmHWM") in bytes. */
static uint64_t status_bytes(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  if (f == NULL) die("cannot read /proc/self/status");
  char line[256];
  size_t n = strlen(key);
  uint64_t kib = 0;
  int found = 0;
  while (fgets(line, sizeof line, f) != NULL) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      found = sscanf(line + n + 1, "%" SCNu64, &kib) == 1;
      break;
    }
  }
  fclose(f);
  if (!found) die("no such line in /proc/self/status");
  return kib * 1024;
}

struct worker {
  pthread_t thread;
  pthread_barrier_t *ready, *start;
  uint32_t W, N, seed, min_size, size_range;
  struct outcome out;
};

/* One thread of a footprint run: its ring set up, then (with every thread) the tracked, filling loop. */
static void *footprint_thread(void *arg) {
  struct worker *w = arg;
  struct ring r = ring_new(w->W);
  pthread_barrier_wait(w->ready);
  pthread_barrier_wait(w->start);
  w->out = ring_loop(r, w->W, w->N, w->seed, w->min_size, w->size_range, 1, 1);
  free(r.slots);
  free(r.sizes);
  return NULL;
}

static int footprint(int argc, char **argv) {
  if (argc < 7) die("usage: ring footprint W N minSize sizeRange seed...");
  uint32_t W = arg_u32(argv[2], "W"), N = arg_u32(argv[3], "N");
  uint32_t min_size = arg_u32(argv[4], "minSize"), size_range = arg_u32(argv[5], "sizeRange");
  int T = argc - 6;
  if (W == 0 || size_range == 0) die("W and sizeRange must be positive");
  struct worker *ws = calloc((size_t)T, sizeof *ws);
  pthread_barrier_t ready, start;
  if (ws == NULL || pthread_barrier_init(&ready, NULL, (unsigned)T + 1) != 0 || pthread_barrier_init(&start, NULL, (unsigned)T + 1) != 0) {
    die("cannot set the threads up");
  }
  for (int k = 0; k < T; k++) {
    ws[k] = (struct worker){.ready = &ready, .start = &start, .W = W, .N = N, .seed = arg_u32(argv[6 + k], "seed"),
                            .min_size = min_size, .size_range = size_range};
    if (pthread_create(&ws[k].thread, NULL, footprint_thread, &ws[k]) != 0) die("pthread_create failed");
  }
  const char *origin = malloc_origin();
  pthread_barrier_wait(&ready); /* every thread and its ring exist: the baseline */
  uint64_t rss_before = status_bytes("VmRSS");
  pthread_barrier_wait(&start);
  for (int k = 0; k < T; k++) pthread_join(ws[k].thread, NULL);
  uint64_t hwm = status_bytes("VmHWM");
  printf("@@BENCH-NATIVE {\"malloc\":\"%s\",\"rssBefore\":%" PRIu64 ",\"peakRss\":%" PRIu64 ",\"runs\":[", origin,
         rss_before, hwm);
  for (int k = 0; k < T; k++) print_run(&ws[k].out, k == 0);
  printf("]}\n");
  free(ws);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) die("usage: ring ring|realloc|footprint ... (see the header of bench/native/ring.c)");
  if (strcmp(argv[1], "footprint") == 0) return footprint(argc, argv);
  int is_ring = strcmp(argv[1], "ring") == 0;
  if (!is_ring && strcmp(argv[1], "realloc") != 0) die("the first argument must be ring, realloc or footprint");
  if (argc != (is_ring ? 10 : 8)) die("wrong number of arguments (see the header of bench/native/ring.c)");
  static const char *const ring_names[] = {"W", "N", "seed", "minSize", "sizeRange", "track", "warmups", "runs"};
  static const char *const realloc_names[] = {"V", "rounds", "minSize", "maxSize", "warmups", "runs"};
  uint32_t a[9];
  for (int i = 2; i < argc; i++) a[i - 2] = arg_u32(argv[i], (is_ring ? ring_names : realloc_names)[i - 2]);
  uint32_t warmups = a[argc - 4], runs = a[argc - 3];
  if (runs == 0) die("runs must be at least 1");
  const char *origin = malloc_origin();
  struct outcome out[64];
  if (runs > 64) die("at most 64 runs");
  if (is_ring) {
    /* W N seed minSize sizeRange track */
    if (a[0] == 0) die("W must be positive");
    if (a[5] != 0 && a[4] == 0) die("a tracked ring needs sizeRange > 0 (memory.ts always draws the size)");
    for (uint32_t k = 0; k < warmups; k++) run_ring(a[0], a[1], a[2], a[3], a[4], a[5] != 0);
    for (uint32_t r = 0; r < runs; r++) out[r] = run_ring(a[0], a[1], a[2], a[3], a[4], a[5] != 0);
  } else {
    /* V rounds minSize maxSize */
    for (uint32_t k = 0; k < warmups; k++) run_realloc(a[0], a[1], a[2], a[3]);
    for (uint32_t r = 0; r < runs; r++) out[r] = run_realloc(a[0], a[1], a[2], a[3]);
  }
  printf("@@BENCH-NATIVE {\"malloc\":\"%s\",\"runs\":[", origin);
  for (uint32_t r = 0; r < runs; r++) print_run(&out[r], r == 0);
  printf("]}\n");
  return 0;
}
