/**
 * fuzz — the command line of the two fuzzers:
 *
 *   npm run fuzz -- --ops 1000000 --seed 7                       (checked mode: test/fuzz/checked.ts)
 *   npm run fuzz -- --default --ops 1000000 --workers 4 --seed 7 (default mode: test/fuzz/default_mode.ts)
 *   npm run fuzz -- --default --seconds 600                      (for ten minutes)
 *
 * Checked mode runs in one thread with one or two thread heaps and mixes in bad operations that
 * checked mode catches (double frees, overflows, writes after free, bad pointers). Default mode
 * runs worker threads that free each other's blocks, are terminated and reclaimed, and mixes in
 * the bad operations default mode catches (double frees, interior and foreign pointers). Both
 * compare the heap with a model of every live block; both run for as long as asked in memory
 * and time that grow at most linearly with the operations. Prints a summary; exits 1 on a
 * failure, printing the command that replays it, and 2 on a bad command line.
 *
 * Not a test file: `node --test build/test/` runs every .js file below build/test, so this one
 * does nothing when it finds itself started by the test runner.
 */

import { readCommandLine } from "./command_line.js";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { CHECKED_DEFAULTS, runCheckedFuzz, type CheckedFuzzOptions } from "./fuzz/checked.js";
import { formatSummary, type FuzzSummary } from "./fuzz/common.js";
import { DEFAULT_MODE_DEFAULTS, runDefaultFuzz, type DefaultFuzzOptions } from "./fuzz/default_mode.js";

const C = CHECKED_DEFAULTS;
const D = DEFAULT_MODE_DEFAULTS;

export const USAGE = `usage: node build/test/fuzz.js [options]        (or: npm run fuzz -- [options])
  --checked            checked mode: bad operations mixed in, one thread (the default)
  --default            default mode: worker threads, cross-worker frees, terminations and reclaim
  --ops N              operations to run (default ${C.ops} checked, ${D.ops} default mode)
  --seconds S          stop after S seconds (with --ops, at whichever comes first; alone, no op limit)
  --seed S             seed (default: from the clock, printed first)
  --workers W          checked: thread heaps in the one thread, 1 or 2 (default ${C.workers});
                       default mode: worker threads, 1 to 8 (default ${D.workers})
  --check-every K      a full check every K ops, or "auto" (the default): every max(200, mapped
                       heap bytes / 32 KiB) ops, so that checks take a bounded share of the run
  --bad-rate R         share of bad operations, 0 to 1 (default ${C.badRate} checked, ${D.badRate} default mode)
  --max-mib M          largest heap size in MiB (default ${C.maxBytes / 1048576} checked, ${D.maxBytes / 1048576} default mode)
  --terminate-every N  default mode: one epoch in N (on average) terminates a worker; 0: none (default ${D.terminateEvery})
  --epoch-ops N        default mode: operations of each worker per epoch (default ${D.epochOps})
  --inject-fault OP    damage a live block at op OP, as a heap bug would (tests the fuzz itself)
  --quiet              no progress lines
  --help               this text`;

export type FuzzCommand =
  | { mode: "checked"; options: Partial<CheckedFuzzOptions>; quiet: boolean }
  | { mode: "default"; options: Partial<DefaultFuzzOptions>; quiet: boolean };

/** The command line's options; null for --help. Throws an Error naming the option it cannot use. */
export function readFuzzOptions(argv: string[]): FuzzCommand | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      ops: { type: "string" },
      seconds: { type: "string" },
      seed: { type: "string" },
      workers: { type: "string" },
      "check-every": { type: "string" },
      "bad-rate": { type: "string" },
      "max-mib": { type: "string" },
      "terminate-every": { type: "string" },
      "epoch-ops": { type: "string" },
      "inject-fault": { type: "string" },
      default: { type: "boolean", default: false },
      checked: { type: "boolean", default: false },
      quiet: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  if (values.default && values.checked) throw new Error("--default and --checked exclude each other");
  const mode = values.default ? "default" : "checked";
  type Name = "ops" | "seconds" | "seed" | "workers" | "check-every" | "bad-rate" | "max-mib" | "terminate-every" | "epoch-ops" | "inject-fault";
  /** The option's value as a number when given, checked by `ok`; `expected` says what it takes. */
  const num = (name: Name, ok: (v: number) => boolean, expected: string): number | undefined => {
    if (values[name] === undefined) return undefined;
    const v = Number(values[name]);
    if (!ok(v)) throw new Error(`--${name} takes ${expected}, got ${JSON.stringify(values[name])}`);
    return v;
  };
  const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;
  const only = (name: Name) => {
    if (values[name] !== undefined && mode !== "default") throw new Error(`--${name} is an option of default mode (--default)`);
  };
  only("terminate-every");
  only("epoch-ops");
  const seconds = num("seconds", (v) => Number.isFinite(v) && v > 0, "a positive number");
  const opsGiven = num("ops", positiveInt, "a positive integer");
  const o: Partial<CheckedFuzzOptions & DefaultFuzzOptions> = {};
  if (opsGiven !== undefined) o.ops = opsGiven;
  else if (seconds !== undefined) o.ops = Infinity;
  if (seconds !== undefined) o.seconds = seconds;
  const seed = num("seed", Number.isSafeInteger, "an integer");
  if (seed !== undefined) o.seed = seed;
  const workers = mode === "checked"
    ? num("workers", (v) => v === 1 || v === 2, "1 or 2 in checked mode")
    : num("workers", (v) => Number.isInteger(v) && v >= 1 && v <= 8, "an integer from 1 to 8 in default mode");
  if (workers !== undefined) o.workers = workers as 1 | 2;
  if (values["check-every"] === "auto") o.checkEvery = 0;
  else {
    const k = num("check-every", positiveInt, 'a positive integer or "auto"');
    if (k !== undefined) o.checkEvery = k;
  }
  const badRate = num("bad-rate", (v) => v >= 0 && v <= 1, "a number from 0 to 1");
  if (badRate !== undefined) o.badRate = badRate;
  const maxMiB = num("max-mib", (v) => positiveInt(v) && v <= 4095, "an integer from 1 to 4095");
  if (maxMiB !== undefined) o.maxBytes = maxMiB * 1048576;
  const terminateEvery = num("terminate-every", (v) => Number.isSafeInteger(v) && v >= 0, "a non-negative integer");
  if (terminateEvery !== undefined) o.terminateEvery = terminateEvery;
  const epochOps = num("epoch-ops", positiveInt, "a positive integer");
  if (epochOps !== undefined) o.epochOps = epochOps;
  const inject = num("inject-fault", (v) => Number.isSafeInteger(v) && v >= 0, "a non-negative integer");
  if (inject !== undefined) o.injectFault = inject;
  return { mode, options: o, quiet: values.quiet } as FuzzCommand;
}

/** Runs the fuzz a command line asks for. */
export function runFuzzCommand(c: FuzzCommand, log?: (line: string) => void): Promise<FuzzSummary> {
  return c.mode === "checked" ? Promise.resolve(runCheckedFuzz({ ...c.options, log })) : runDefaultFuzz({ ...c.options, log });
}

async function main(): Promise<number> {
  const c = readCommandLine("fuzz", USAGE, readFuzzOptions);
  if (typeof c === "number") return c;
  c.options.seed ??= Date.now() % 1_000_000_007;
  const log = c.quiet ? undefined : (line: string): void => console.log(line);
  log?.(`hakmem fuzz: ${c.mode} mode, seed ${c.options.seed}`);
  const s = await runFuzzCommand(c, log);
  console.log(formatSummary(s));
  return s.ok ? 0 : 1;
}

// Run as a script, but not when the test runner picks this file up (node --test build/test/).
const argv1 = process.argv[1];
if (argv1 !== undefined && import.meta.url === pathToFileURL(argv1).href && process.env.NODE_TEST_CONTEXT === undefined) {
  process.exitCode = await main();
}
