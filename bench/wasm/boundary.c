/*
 * boundary.c — what a call from wasm into JS costs, next to a malloc/free pair, for the wasm
 * benchmarks (bench/wasm/suite.ts). hakmem's malloc and free are JS functions that wasm calls
 * through imports; Emscripten's dlmalloc and emmalloc are wasm functions.
 *
 *   boundary N
 *
 * Times N iterations of each loop and prints "RESULT_NS <js_call> <wasm_call> <pair> <pair_batch>"
 * in nanoseconds per iteration:
 *   js_call     a call of an imported JS function of one int32 argument that returns it
 *               (boundary_library.js): the wasm->JS->wasm round trip alone;
 *   wasm_call   the same through a wasm function that is not inlined: the baseline of a call;
 *   pair        malloc(64), a byte written, free: the same block every time (the fastest path);
 *   pair_batch  malloc of 100 blocks of 16..1024 bytes, then free of the 100, per block.
 */
#include <emscripten.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

extern int bench_js_identity(int x);

__attribute__((noinline)) static int wasm_identity(int x) {
  __asm__ volatile("" ::: "memory");
  return x;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 10000000;
  volatile int sink = 0;
  double t0 = emscripten_get_now();
  for (int i = 0; i < n; i++) sink += bench_js_identity(i);
  double t1 = emscripten_get_now();
  for (int i = 0; i < n; i++) sink += wasm_identity(i);
  double t2 = emscripten_get_now();
  for (int i = 0; i < n; i++) {
    volatile char *p = malloc(64);
    p[0] = (char)i;
    free((void *)p);
  }
  double t3 = emscripten_get_now();
  char *batch[100];
  uint32_t x = 42;
  int rounds = n / 100;
  for (int r = 0; r < rounds; r++) {
    for (int k = 0; k < 100; k++) {
      x ^= x << 13;
      x ^= x >> 17;
      x ^= x << 5;
      batch[k] = malloc(16 + x % 1009);
      batch[k][0] = (char)k;
    }
    for (int k = 0; k < 100; k++) free(batch[k]);
  }
  double t4 = emscripten_get_now();
  printf("RESULT_NS %.3f %.3f %.3f %.3f\n", (t1 - t0) * 1e6 / n, (t2 - t1) * 1e6 / n, (t3 - t2) * 1e6 / n, (t4 - t3) * 1e6 / (rounds * 100.0));
  return sink == 1; /* never: sink only keeps the loops from being optimized away */
}
