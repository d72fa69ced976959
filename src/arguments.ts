/**
 * arguments — checks on what callers pass in, and the errors that name it.
 *
 * Programming errors get JavaScript errors: a TypeError for a value of the wrong type (a string,
 * undefined, an object), a RangeError for a number out of its range (negative, fractional, NaN,
 * too large). Every message names the function, the argument, the value and what was expected.
 * These checks run only off the fast paths: the fast paths let anything unusual fall through.
 */

/** Renders a value for an error message: strings quoted, numbers as written, others by type. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 40 ? value.slice(0, 40) + "…" : value);
  if (typeof value === "number") return Object.is(value, -0) ? "-0" : String(value);
  if (typeof value === "bigint") return `${value}n`;
  if (value === null) return "null";
  if (typeof value === "object") return `an object (${Object.prototype.toString.call(value)})`;
  if (typeof value === "function") return "a function";
  return String(value);
}

/**
 * Checks that `value` is a non-negative safe integer and returns it. `what` reads like
 * "malloc(size)".
 */
export function checkSize(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`hakmem: ${what} must be a number of bytes, got ${describe(value)} (${typeof value})`);
  }
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`hakmem: ${what} must be a non-negative safe integer, got ${describe(value)}`);
  }
  return value;
}

/** Checks that `value` looks like a pointer: an integer in [0, 2^32). */
export function checkPointerType(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`hakmem: ${what} must be a pointer (a byte offset, a number), got ${describe(value)} (${typeof value})`);
  }
  if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) {
    throw new RangeError(`hakmem: ${what} must be a pointer: an integer byte offset in [0, 2^32), got ${describe(value)}`);
  }
  return value;
}

/** Checks that `value` is a power of two between 1 and 2^31. */
export function checkAlignment(value: unknown, what: string): number {
  if (typeof value !== "number") {
    throw new TypeError(`hakmem: ${what} must be a number, got ${describe(value)} (${typeof value})`);
  }
  if (!Number.isInteger(value) || value < 1 || value > 2 ** 31 || (value & (value - 1)) !== 0) {
    throw new RangeError(`hakmem: ${what} must be a power of two from 1 to 2^31, got ${describe(value)}`);
  }
  return value;
}

/** Hex and decimal, the way a pointer reads best in a message. */
export function hex(p: number): string {
  return `0x${(p >>> 0).toString(16)} (${p >>> 0})`;
}
