/**
 * command_line — what the test scripts (soak.ts, fuzz.ts, reliability.ts) share around their
 * options: `--help` prints the usage (exit code 0); a bad option prints an error naming it,
 * followed by the usage (exit code 2).
 */

/**
 * Reads the script's options with `read` (null: --help was given). Returns them, or the exit
 * code the script ends with when there is nothing to run.
 */
export function readCommandLine<T extends object>(name: string, usage: string, read: (argv: string[]) => T | null): T | number {
  let options: T | null;
  try {
    options = read(process.argv.slice(2));
  } catch (e) {
    console.error(`${name}: ${(e as Error).message}\n${usage}`);
    return 2;
  }
  if (options === null) {
    console.log(usage);
    return 0;
  }
  return options;
}
