/**
 * soak — the multi-worker stress test of multiworker.test.ts, for as long as asked:
 *
 *   npm run soak -- --seconds 600 --workers 8 --seed 42
 *   node build/test/soak.js [--seconds S] [--workers T] [--seed N] [--round-seconds R]
 *                           [--retain K] [--slots M] [--max-mib B] [--check]
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

import { runStress, type StressOptions } from "./workers/stress.js";

const USAGE =
  "usage: node build/test/soak.js [--seconds S] [--workers T] [--seed N] [--round-seconds R] [--retain K] [--slots M] [--max-mib B] [--check]";

function parseArgs(argv: string[]): StressOptions & { seconds: number } {
  const o = {
    seconds: 60, roundSeconds: 3, workers: 6, seed: 1, retain: 256, transferSlots: 1024, maxBytes: 1024 * 1048576, checked: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--check") {
      o.checked = true;
      continue;
    }
    if (arg === "--help" || arg === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const value = Number(argv[++i]);
    const positive = Number.isFinite(value) && value > 0;
    const integer = Number.isInteger(value);
    switch (arg) {
      case "--seconds":
        if (!positive) throw new Error(`--seconds takes a positive number`);
        o.seconds = value;
        break;
      case "--round-seconds":
        if (!positive) throw new Error(`--round-seconds takes a positive number`);
        o.roundSeconds = value;
        break;
      case "--workers":
        if (!positive || !integer || value > 100) throw new Error(`--workers takes an integer from 1 to 100`);
        o.workers = value;
        break;
      case "--seed":
        if (!integer) throw new Error(`--seed takes an integer`);
        o.seed = value;
        break;
      case "--retain":
        if (!positive || !integer) throw new Error(`--retain takes a positive integer`);
        o.retain = value;
        break;
      case "--slots":
        if (!positive || !integer) throw new Error(`--slots takes a positive integer`);
        o.transferSlots = value;
        break;
      case "--max-mib":
        if (!positive || !integer || value > 4095) throw new Error(`--max-mib takes an integer from 1 to 4095`);
        o.maxBytes = value * 1048576;
        break;
      default:
        throw new Error(`unknown argument ${arg}`);
    }
  }
  // A round must end in time even on a loaded machine: generous, but a deadlock still shows.
  return { ...o, roundTimeoutMs: Math.max(60_000, o.roundSeconds * 1000 * 10) };
}

async function main(): Promise<number> {
  let options: ReturnType<typeof parseArgs>;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (e) {
    console.error(`soak: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
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
