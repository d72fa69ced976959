/**
 * workloads/index — the registry of workloads, in the order they are run and reported.
 *
 * To add one: write bench/workloads/<name>.ts exporting a `Workload` (types.ts) and list it here.
 * Names are what `--workloads` takes. The single-worker ones come first, then the multi-worker
 * ones (reported in a table of their own).
 */

import { fixedSize } from "./fixed_size.js";
import { larsonT1, larsonT2, larsonT4 } from "./larson.js";
import { midLargeMt } from "./mid_large_mt.js";
import { xthread, xthreadLocal } from "./xthread.js";
import { memory } from "./memory.js";
import { mid } from "./mid.js";
import { randomMixed, randomMixedW256 } from "./random_mixed.js";
import { reallocGrow } from "./realloc_grow.js";
import type { Workload } from "./types.js";

export const WORKLOADS: readonly Workload[] = [
  randomMixed, randomMixedW256, fixedSize, mid, memory, reallocGrow,
  larsonT1, larsonT2, larsonT4, midLargeMt, xthread, xthreadLocal,
];

export function workload(name: string): Workload {
  const w = WORKLOADS.find((x) => x.name === name);
  if (w === undefined) {
    throw new Error(`unknown workload "${name}"; known: ${WORKLOADS.map((x) => x.name).join(", ")}`);
  }
  return w;
}
