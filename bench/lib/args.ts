/**
 * args — the command line of the bench scripts: `node:util` parseArgs with a usage text, `--help`
 * on every script, and the checks of numeric and list options (an error names the option, the
 * value and what was expected).
 */

import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/**
 * Parses `argv` (no positionals) with `options`. `--help` or `-h` prints `usage` and exits; a bad
 * option throws an Error that ends with the usage text.
 */
export function parseCommandLine<O extends Options>(argv: string[], options: O, usage: string) {
  if (argv.includes("--help") || argv.includes("-h")) {
    process.stdout.write(usage);
    process.exit(0);
  }
  const config = { args: argv, options, strict: true as const, allowPositionals: false as const };
  try {
    return parseArgs(config).values;
  } catch (err) {
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${usage}`);
  }
}

/** The integer value of option `name` (at least `min`), or `fallback` when it was not given. */
export function intOption(name: string, text: string | undefined, min: number, fallback: number): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  if (!(text.trim() !== "" && Number.isInteger(v) && v >= min)) throw new Error(`--${name} must be an integer ≥ ${min}, got "${text}"`);
  return v;
}

/** A comma-separated list option ("a,b, c" → ["a", "b", "c"]), or undefined when not given. */
export function listOption(text: string | undefined): string[] | undefined {
  return text
    ?.split(",")
    .map((x) => x.trim())
    .filter((x) => x !== "");
}
