/*
 * larson.c — the Larson server benchmark in C with pthreads, for the wasm benchmarks
 * (bench/wasm/suite.ts); the definition of bench/workloads/larson.ts, with threads for workers:
 *
 *   larson T M G R minSize sizeRange seed
 *
 * - T arrays of M blocks; the main thread fills them (outside the clock), so the first frees of
 *   every thread are of blocks another thread allocated.
 * - Generation g = 0..G-1: T threads at once, thread k working on array k: R times, pick a
 *   random slot, check and free its block, malloc a replacement of a random size, write its
 *   pattern. The main thread joins the generation, then starts the next one on the same arrays:
 *   every generation frees the previous generation's blocks, and its threads exit at the end.
 * - The clock runs from the start of generation 0 to the end of generation G - 1.
 * Prints "RESULT <T*G*R> <seconds> <checksum>" (checksum: XOR of the threads' PRNG states);
 * exits 1 on NULL from malloc or a damaged block.
 */
#include <emscripten.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t T, M, G, R, min_size, range, seed;
static unsigned char ***arrays;
static uint32_t **sizes;

static uint32_t next(uint32_t x) {
  x ^= x << 13;
  x ^= x >> 17;
  x ^= x << 5;
  return x;
}

/* The first and last byte of a block carry its size's low bits. */
static void put(uint32_t k, uint32_t slot, uint32_t size) {
  unsigned char *p = malloc(size);
  if (p == NULL) {
    fprintf(stderr, "malloc(%u) returned NULL\n", size);
    exit(1);
  }
  p[0] = (unsigned char)size;
  p[size - 1] = (unsigned char)(size >> 3);
  arrays[k][slot] = p;
  sizes[k][slot] = size;
}

struct job {
  uint32_t k, g, state;
};

static void *work(void *arg) {
  struct job *j = arg;
  uint32_t x = j->state;
  unsigned char **a = arrays[j->k];
  uint32_t *s = sizes[j->k];
  for (uint32_t i = 0; i < R; i++) {
    x = next(x);
    uint32_t slot = x % M;
    unsigned char *old = a[slot];
    if (old[0] != (unsigned char)s[slot] || old[s[slot] - 1] != (unsigned char)(s[slot] >> 3)) {
      fprintf(stderr, "damaged block at %p\n", (void *)old);
      exit(1);
    }
    free(old);
    x = next(x);
    put(j->k, slot, min_size + x % range);
  }
  j->state = x;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 8) {
    fprintf(stderr, "usage: larson T M G R minSize sizeRange seed\n");
    return 2;
  }
  T = atoi(argv[1]), M = atoi(argv[2]), G = atoi(argv[3]), R = atoi(argv[4]);
  min_size = atoi(argv[5]), range = atoi(argv[6]), seed = atoi(argv[7]);
  arrays = malloc(T * sizeof *arrays);
  sizes = malloc(T * sizeof *sizes);
  struct job *jobs = calloc(T, sizeof *jobs);
  uint32_t x = seed;
  for (uint32_t k = 0; k < T; k++) {
    arrays[k] = malloc(M * sizeof **arrays);
    sizes[k] = malloc(M * sizeof **sizes);
    for (uint32_t slot = 0; slot < M; slot++) {
      x = next(x);
      put(k, slot, min_size + x % range);
    }
    jobs[k].k = k;
    jobs[k].state = next(seed + 1 + k);
  }
  pthread_t *threads = malloc(T * sizeof *threads);
  double t0 = emscripten_get_now();
  for (uint32_t g = 0; g < G; g++) {
    for (uint32_t k = 0; k < T; k++) {
      jobs[k].g = g;
      if (pthread_create(&threads[k], NULL, work, &jobs[k]) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
      }
    }
    for (uint32_t k = 0; k < T; k++) pthread_join(threads[k], NULL);
  }
  double seconds = (emscripten_get_now() - t0) / 1000;
  uint32_t checksum = 0;
  for (uint32_t k = 0; k < T; k++) {
    checksum ^= jobs[k].state;
    for (uint32_t slot = 0; slot < M; slot++) free(arrays[k][slot]);
    free(arrays[k]);
    free(sizes[k]);
  }
  printf("RESULT %u %.6f %u\n", T * G * R, seconds, checksum);
  return 0;
}
