/*
 * threads.c — pthreads on a module linked with hakmem (test/emscripten.test.ts). Built with
 * -pthread and a pool of 4 workers.
 *
 * 1. Four rounds of four threads: each thread allocates blocks of many sizes, frees half of them
 *    itself and hands the other half to the main thread, which checks and frees them (frees of
 *    another thread's blocks: hakmem's remote-free path), then the thread exits. Pool workers are
 *    reused from round to round, so each worker's heap is disposed at thread exit and attached
 *    again by the next thread.
 * 2. A thread that allocates, hands its blocks over and then spins until pthread_kill(SIGKILL)
 *    makes Emscripten terminate its worker; the main thread frees its blocks.
 * 3. After a pause (the killed worker's exit event, and the exited threads' disposal, come
 *    asynchronously; retried for up to 20 s), from JS: after collect() the heap must be back to the pages the main thread
 *    holds (pages the exited threads abandoned and the killed one's, reclaimed, are empty and
 *    given back; a thread not disposed or not reclaimed would keep its pages), and check() must
 *    find the heap consistent.
 * Prints "ok <name>" / "FAIL <name>"; exits with the number of failures.
 */
#include <emscripten.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { THREADS = 4, ROUNDS = 4, BLOCKS = 6000, VICTIM_BLOCKS = 3000 };

static int failures;
static void check(const char *name, int ok) {
  printf("%s %s\n", ok ? "ok" : "FAIL", name);
  if (!ok) failures++;
}

static size_t size_of(int t, int i) { return 8 + (size_t)((i * 37 + t * 11) % 900); }
static unsigned char tag_of(int t, int i) { return (unsigned char)(t * 31 + i * 7 + 1); }

static unsigned char *handed[THREADS][BLOCKS / 2];

static void *worker(void *arg) {
  int t = (int)(intptr_t)arg;
  static _Thread_local unsigned char *mine[BLOCKS];
  for (int i = 0; i < BLOCKS; i++) {
    mine[i] = malloc(size_of(t, i));
    if (mine[i] == NULL) return (void *)1;
    memset(mine[i], tag_of(t, i), size_of(t, i));
  }
  int bad = 0;
  for (int i = 0; i < BLOCKS; i++) {
    for (size_t k = 0; k < size_of(t, i); k += 61) bad |= mine[i][k] != tag_of(t, i);
    if (i % 2 == 0) free(mine[i]);
    else handed[t][i / 2] = mine[i];
  }
  return (void *)(intptr_t)bad;
}

static unsigned char *victim_blocks[VICTIM_BLOCKS];
static atomic_int victim_ready;

static void *victim(void *arg) {
  (void)arg;
  for (int i = 0; i < VICTIM_BLOCKS; i++) {
    victim_blocks[i] = malloc(48 + i % 200);
    memset(victim_blocks[i], 0x5a, 48);
  }
  atomic_store(&victim_ready, 1);
  for (;;) {
    /* Spin (keeping its pages) until Emscripten terminates the worker. */
  }
  return NULL;
}

static double heap_bytes_before;

/* Checks from JS, after a pause: retried every 200 ms for up to 20 s, since the killed worker's
 * exit event and the workers' disposals come when the machine gets to them. */
static void finish(void *arg) {
  int attempt = (int)(intptr_t)arg;
  /* Blocks still live are the main thread's own (stdio, the pthread structs of running threads). */
  double released = EM_ASM_DOUBLE({ return Module.hakmemHeap.collect(); });
  double live = EM_ASM_DOUBLE({ return Module.hakmemHeap.stats().heapBytes; });
  /* Pages still owned by an exited (not disposed) or killed (not reclaimed) thread would stay. */
  int shrunk = live <= heap_bytes_before + 4 * 65536;
  if (!shrunk && attempt < 100) {
    emscripten_async_call(finish, (void *)(intptr_t)(attempt + 1), 200);
    return;
  }
  int problems = EM_ASM_INT({
    var r = Module.hakmemHeap.check();
    if (!r.ok) console.error(JSON.stringify(r.problems.slice(0, 5)));
    return r.problems.length;
  });
  printf("collect released %.0f pages; heap bytes %.0f (before the threads %.0f)\n", released, live, heap_bytes_before);
  check("after collect() the heap shrinks back to what the main thread holds", shrunk);
  check("check() finds the heap consistent", problems == 0);
  printf("%d failed\n", failures);
  emscripten_force_exit(failures);
}

int main(void) {
  heap_bytes_before = EM_ASM_DOUBLE({ return Module.hakmemHeap.stats().heapBytes; });
  int ok = 1, intact = 1;
  for (int round = 0; round < ROUNDS; round++) {
    pthread_t th[THREADS];
    for (int t = 0; t < THREADS; t++) ok &= pthread_create(&th[t], NULL, worker, (void *)(intptr_t)t) == 0;
    for (int t = 0; t < THREADS; t++) {
      void *bad = (void *)1;
      pthread_join(th[t], &bad);
      ok &= bad == NULL;
    }
    for (int t = 0; t < THREADS; t++) {
      for (int j = 0; j < BLOCKS / 2; j++) {
        int i = 2 * j + 1;
        for (size_t k = 0; k < size_of(t, i); k += 61) intact &= handed[t][j][k] == tag_of(t, i);
        free(handed[t][j]);
      }
    }
  }
  check("threads allocate, free their own blocks, exit", ok);
  check("blocks freed by the main thread kept their contents", intact);

  pthread_t v;
  pthread_create(&v, NULL, victim, NULL);
  while (!atomic_load(&victim_ready)) {
  }
  check("pthread_kill(SIGKILL) of a spinning thread", pthread_kill(v, SIGKILL) == 0);
  int victim_ok = 1;
  for (int i = 0; i < VICTIM_BLOCKS; i++) {
    victim_ok &= victim_blocks[i][47] == 0x5a;
    free(victim_blocks[i]);
  }
  check("the killed thread's blocks are freed by the main thread", victim_ok);

  emscripten_async_call(finish, (void *)0, 200);
  emscripten_exit_with_live_runtime();
  return 0;
}
