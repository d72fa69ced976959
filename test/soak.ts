/**
 * soak — the multi-worker stress test of multiworker.test.ts, for as long as asked:
 *
 *   npm run soak -- --seconds 600 --workers 8 --seed 42
 *   node build/test/soak.js [--seconds S] [--workers T] [--seed N] [--round-seconds R]
 *                           [--retain K] [--slots M] [--max-mib B] [--check] [--help]
 *
 * Rounds of R seconds (default 3): T stress workers (default 6) run over one heap, half of them
 * end with dispose(), half are terminated and reclaimed, and the blocks in the transfer array
 * survive into the next round (test/workers/stress.ts has the details and the checks). Prints a
 * line per round and a summary; exits with status 1 on the first failure (with the error), 0 when
 * the time is up and the heap ended empty. --check runs the heap in checked mode.
 *
 * Not a test file: `node --test build/test/` runs every .js file below build/test, so this one
 * does nothing when it finds itself started by the test runner.
 */

import { readCommandLine } from "./command_line.js";
import { parseArgs } from "node:util";
import { runStress, type StressOptions } from "./workers/stress.js";

const USAGE = `usage: node build/test/soak.js [options]        (or: npm run soak -- [options])
  --seconds S        how long to run, in seconds (default 60)
  --workers T        stress workers per round, 1 to 100 (default 6)
  --seed N           seed of the random choices (default 1)
  --round-seconds R  length of a round, in seconds (default 3)
  --retain K         blocks a worker keeps live at most (default 256)
  --slots M          slots of the transfer array shared by the workers (default 1024)
  --max-mib B        largest heap size in MiB, 1 to 4095 (default 1024)
  --check            run the heap in checked mode
  --help             this text`;

type SoakOptions = StressOptions & { seconds: number };

/** The command line's options; null for --help. Throws an Error naming the option it cannot use. */
function readOptions(argv: string[]): SoakOptions | null {
  const { values } = parseArgs({
    args: argv,
    options: {
      seconds: { type: "string", default: "60" },
      "round-seconds": { type: "string", default: "3" },
      workers: { type: "string", default: "6" },
      seed: { type: "string", default: "1" },
      retain: { type: "string", default: "256" },
      slots: { type: "string", default: "1024" },
      "max-mib": { type: "string", default: "1024" },
      check: { type: "boolean", default: false },
      help: { type: "boolean", short: "h", default: false },
    },
  });
  if (values.help) return null;
  /** The option's value as a number, checked by `ok`; `expected` says what it takes. */
  const num = (name: keyof typeof values, ok: (v: number) => boolean, expected: string): number => {
    const v = Number(values[name]);
    if (!ok(v)) throw new Error(`--${name} takes ${expected}, got ${JSON.stringify(values[name])}`);
    return v;
  };
  const positive = (v: number) => Number.isFinite(v) && v > 0;
  const positiveInt = (v: number) => Number.isSafeInteger(v) && v > 0;
  const roundSeconds = num("round-seconds", positive, "a positive number");
  return {
    seconds: num("seconds", positive, "a positive number"),
    roundSeconds,
    workers: num("workers", (v) => positiveInt(v) && v <= 100, "an integer from 1 to 100"),
    seed: num("seed", Number.isSafeInteger, "an integer"),
    retain: num("retain", positiveInt, "a positive integer"),
    transferSlots: num("slots", positiveInt, "a positive integer"),
    maxBytes: num("max-mib", (v) => positiveInt(v) && v <= 4095, "an integer from 1 to 4095") * 1048576,
    checked: values.check,
    // A round must end in time even on a loaded machine: generous, but a deadlock still shows.
    roundTimeoutMs: Math.max(60_000, roundSeconds * 1000 * 10),
  };
}

async function main(): Promise<number> {
  const options = readCommandLine("soak", USAGE, readOptions);
  if (typeof options === "number") return options;
  const t0 = performance.now();
  const stamp = () => `[${((performance.now() - t0) / 1000).toFixed(1).padStart(6)} s]`;
  console.log(
    `soak: ${options.seconds} s, ${options.workers} workers per round, rounds of ${options.roundSeconds} s, seed ${options.seed}, ` +
      `retain ${options.retain}, ${options.transferSlots} transfer slots, max ${options.maxBytes / 1048576} MiB${options.checked ? ", checked mode" : ""}`,
  );
  try {
    const s = await runStress({ ...options, log: (line) => console.log(`${stamp()} ${line}`) });
    const t = s.totals;
    const workers = s.rounds.reduce((n, r) => n + r.workers.length, 0);
    const peak = s.final.peakHeapBytes / 1048576;
    console.log(
      `soak: PASS — ${s.rounds.length} rounds, ${workers} workers, ${t.ops} operations (${Math.round(t.ops / (s.ms / 1000))}/s), ` +
        `${t.allocs} allocations, ${t.frees + s.finalFrees} frees, ${t.transfersIn} transfers, ${t.crossFrees} cross-worker frees ` +
        `of ${t.transferFrees} frees of transferred blocks, ${t.fromEarlierRounds} blocks taken from earlier rounds, ` +
        `${t.reallocs} reallocs, ${t.callocs} callocs, ${t.aligned} aligned; largest block ${t.largest} bytes; ` +
        `peak heap ${peak.toFixed(1)} MiB, ${s.final.growths} growths; heap empty at the end (${s.collected} pages collected); ` +
        `${(s.ms / 1000).toFixed(1)} s`,
    );
    return 0;
  } catch (e) {
    console.error(`${stamp()} soak: FAIL (seed ${options.seed}, ${options.workers} workers): ${(e as Error).stack ?? e}`);
    return 1;
  }
}

if (process.env.NODE_TEST_CONTEXT === undefined) {
  process.exit(await main());
}
