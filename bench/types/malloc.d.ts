/**
 * Type declarations for the npm package `malloc` (codemix/malloc 1.1), which ships none.
 * Only the part of its API the benchmarks use.
 */
declare module "malloc" {
  /** Skip-list based allocator over one ArrayBuffer; addresses are byte offsets, 0 means failure. */
  class Allocator {
    constructor(buffer: ArrayBuffer, byteOffset?: number, byteLength?: number);
    /** Allocates `numberOfBytes` (rounded up to 8, at least 16); returns the offset or 0. Throws above the heap size. */
    alloc(numberOfBytes: number): number;
    /** Frees the block at `address`; returns the number of bytes freed. */
    free(address: number): number;
    /** Size in bytes of the block at `address`. */
    sizeOf(address: number): number;
  }
  export = Allocator;
}
