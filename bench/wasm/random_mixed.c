/*
 * random_mixed.c — the seed's random_mixed in C, for the wasm benchmarks (bench/wasm/suite.ts):
 * free + malloc of random sizes over a ring of W slots, with the same definition, PRNG and
 * checksum as bench/workloads/random_mixed.ts.
 *
 *   random_mixed W N seed minSize sizeRange
 *
 * Prints "RESULT <iterations> <seconds> <checksum>"; exits 1 if malloc returns NULL.
 */
#include <emscripten.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: random_mixed W N seed minSize sizeRange\n");
    return 2;
  }
  uint32_t W = (uint32_t)atoi(argv[1]), N = (uint32_t)atoi(argv[2]), x = (uint32_t)atoi(argv[3]);
  uint32_t min_size = (uint32_t)atoi(argv[4]), range = (uint32_t)atoi(argv[5]);
  unsigned char **ring = calloc(W, sizeof *ring);
  double t0 = emscripten_get_now();
  for (uint32_t i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    uint32_t slot = x % W;
    free(ring[slot]);
    uint32_t size = min_size;
    if (range > 0) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      size += x % range;
    }
    unsigned char *p = malloc(size);
    if (p == NULL) {
      fprintf(stderr, "malloc(%u) returned NULL at iteration %u\n", size, i);
      return 1;
    }
    p[0] = (unsigned char)i;
    ring[slot] = p;
  }
  double seconds = (emscripten_get_now() - t0) / 1000;
  for (uint32_t s = 0; s < W; s++) free(ring[s]);
  free(ring);
  printf("RESULT %u %.6f %u\n", N, seconds, x);
  return 0;
}
