/*
 * xthread.c — cross-thread free in C with pthreads, for the wasm benchmarks (bench/wasm/suite.ts):
 * the definition of bench/workloads/xthread.ts with threads for workers.
 *
 *   xthread N minSize sizeRange Q B seed
 *
 * A producer thread mallocs N blocks of random sizes, writes a pattern into each and passes the
 * pointers to a consumer thread through a ring of Q slots (C11 atomics, head and tail published
 * every B items; a side that finds the ring full or empty spins briefly, then sleeps on the
 * other side's counter for at most 0.1 ms). The consumer checks each block's pattern and frees
 * it: every free is of a block another thread allocated. The clock runs from the start of both threads to the end
 * of both. Prints "RESULT <N> <seconds> <checksum>" (checksum: the producer's final PRNG state);
 * exits 1 on NULL from malloc or a damaged block.
 */
#include <emscripten.h>
#include <emscripten/threading.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

static uint32_t N, min_size, range, Q, B, seed, final_state;
static unsigned char **ring;
static _Atomic uint32_t head, tail; /* head: next slot to write; tail: next slot to read */

/* Waits until *counter differs from `seen`: spins, then sleeps in short futex waits. */
static uint32_t wait_change(_Atomic uint32_t *counter, uint32_t seen) {
  for (int spin = 0;; spin++) {
    uint32_t now = atomic_load_explicit(counter, memory_order_acquire);
    if (now != seen) return now;
    if (spin > 200) emscripten_futex_wait((void *)counter, seen, 0.1);
  }
}

static void *producer(void *arg) {
  (void)arg;
  uint32_t x = seed;
  for (uint32_t i = 0; i < N; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    uint32_t size = min_size + x % range;
    unsigned char *p = malloc(size);
    if (p == NULL) {
      fprintf(stderr, "malloc(%u) returned NULL\n", size);
      exit(1);
    }
    p[0] = (unsigned char)size;
    p[size - 1] = (unsigned char)i;
    *(uint16_t *)(p + 2) = (uint16_t)size;
    for (uint32_t t = atomic_load_explicit(&tail, memory_order_acquire); i - t >= Q;) t = wait_change(&tail, t);
    ring[i % Q] = p;
    if ((i + 1) % B == 0 || i + 1 == N) {
      atomic_store_explicit(&head, i + 1, memory_order_release);
      emscripten_futex_wake((void *)&head, 1);
    }
  }
  final_state = x;
  return NULL;
}

static void *consumer(void *arg) {
  (void)arg;
  uint32_t h = 0;
  for (uint32_t i = 0; i < N; i++) {
    while (h == i) h = wait_change(&head, h);
    unsigned char *p = ring[i % Q];
    uint32_t size = *(uint16_t *)(p + 2);
    if (p[0] != (unsigned char)size || p[size - 1] != (unsigned char)i) {
      fprintf(stderr, "damaged block at %p\n", (void *)p);
      exit(1);
    }
    free(p);
    if ((i + 1) % B == 0 || i + 1 == N) {
      atomic_store_explicit(&tail, i + 1, memory_order_release);
      emscripten_futex_wake((void *)&tail, 1);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: xthread N minSize sizeRange Q B seed\n");
    return 2;
  }
  N = atoi(argv[1]), min_size = atoi(argv[2]), range = atoi(argv[3]), Q = atoi(argv[4]), B = atoi(argv[5]), seed = atoi(argv[6]);
  if (min_size < 4 || B == 0 || Q % B != 0) {
    fprintf(stderr, "minSize must be at least 4 (the pattern), B > 0 must divide Q\n");
    return 2;
  }
  ring = calloc(Q, sizeof *ring);
  pthread_t p, c;
  double t0 = emscripten_get_now();
  pthread_create(&c, NULL, consumer, NULL);
  pthread_create(&p, NULL, producer, NULL);
  pthread_join(p, NULL);
  pthread_join(c, NULL);
  double seconds = (emscripten_get_now() - t0) / 1000;
  free(ring);
  printf("RESULT %u %.6f %u\n", N, seconds, final_state);
  return 0;
}
