/*
 * misuse.c — a C program with a heap bug, for hakmem's error reports under Emscripten
 * (test/emscripten.test.ts): "double" frees a block twice (caught in the default mode too),
 * "overflow" writes 16 bytes past a 24-byte block and frees it (caught in checked mode,
 * HAKMEM_CHECK=1). hakmem must stop the program at that free with an error naming the fault;
 * the last line is not reached.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
  /* volatile: the compiler may not drop the faulty operations, which are undefined behaviour. */
  char *volatile p = malloc(24);
  if (argc > 1 && strcmp(argv[1], "overflow") == 0) memset(p, 1, 40);
  free(p);
  if (argc > 1 && strcmp(argv[1], "double") == 0) free(p);
  puts("not reached");
  return 0;
}
