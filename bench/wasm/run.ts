/**
 * wasm/run — the wasm benchmark rows on their own (bench/wasm/suite.ts), real programs included:
 *
 *   npm run bench:wasm                   (= npm run build:dev && node build/bench/wasm/run.js)
 *   node build/bench/wasm/run.js [--quick] [--runs R] [--no-programs]
 *
 * Writes bench/results/wasm.md and wasm.json and prints the Markdown; progress on stderr.
 */

import { machine } from "../lib/env.js";
import { runWasmSuite, writeWasmReport } from "./suite.js";

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  let quick = false;
  let programs = true;
  let runs: number | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--quick") quick = true;
    else if (a === "--no-programs") programs = false;
    else if (a === "--runs") runs = Number(argv[++i]);
    else throw new Error(`unknown option ${a}; usage: node build/bench/wasm/run.js [--quick] [--runs R] [--no-programs]`);
  }
  runs ??= quick ? 3 : 5;
  if (!(Number.isInteger(runs) && runs >= 1)) throw new Error("--runs must be a positive integer");
  const load = machine().load;
  const result = await runWasmSuite({ quick, runs, programs, log: (line) => process.stderr.write(`${line}\n`) });
  process.stdout.write(await writeWasmReport(result, `node build/bench/wasm/run.js ${argv.join(" ")}`.trim(), String(load)));
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
