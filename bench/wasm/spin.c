/*
 * spin.c — the control for the thread-scaling figures of the wasm benchmarks
 * (bench/wasm/suite.ts): T pthreads that only compute (no allocation, no shared data), each
 * iterations steps of a PRNG. On an idle 2-core machine T=2 runs at 2x the rate of T=1; what it
 * shows during a run is the parallelism the machine had to give, against which larson's scaling
 * is read.
 *
 *   spin T iterations
 *
 * Prints "RESULT <T*iterations> <seconds> <checksum>".
 */
#include <emscripten.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t iterations;
static uint32_t results[16];

static void *spin(void *arg) {
  uint32_t k = (uint32_t)(uintptr_t)arg, x = 42 + k;
  for (uint32_t i = 0; i < iterations; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
  }
  results[k] = x;
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 3 || atoi(argv[1]) < 1 || atoi(argv[1]) > 16) {
    fprintf(stderr, "usage: spin T(1..16) iterations\n");
    return 2;
  }
  uint32_t T = (uint32_t)atoi(argv[1]);
  iterations = (uint32_t)atoi(argv[2]);
  pthread_t threads[16];
  double t0 = emscripten_get_now();
  for (uint32_t k = 0; k < T; k++) pthread_create(&threads[k], NULL, spin, (void *)(uintptr_t)k);
  for (uint32_t k = 0; k < T; k++) pthread_join(threads[k], NULL);
  double seconds = (emscripten_get_now() - t0) / 1000;
  uint32_t checksum = 0;
  for (uint32_t k = 0; k < T; k++) checksum ^= results[k];
  printf("RESULT %u %.6f %u\n", T * iterations, seconds, checksum);
  return 0;
}
