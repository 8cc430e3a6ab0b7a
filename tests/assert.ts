// The one place tests get assertions from (node's, since JSR's @std/assert is
// unreachable here); switching to @std/assert later is a one-file change.
export {
  deepEqual as assertEquals,
  equal as assertStrictEquals,
  ok as assert,
  rejects as assertRejects,
} from "node:assert/strict";
import { throws } from "node:assert/strict";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;

/**
 * `fn` throws, and what it throws passes `expected` (a class, a pattern for
 * its message, or a predicate); with `includes` (and a class), its message
 * contains that text, as @std/assert's assertThrows reads a third argument
 * (node's `throws` would take it for the failure's text and check nothing).
 */
export function assertThrows(
  fn: () => unknown,
  expected?: ErrorClass | RegExp | ((e: Error) => boolean),
  includes?: string,
): void {
  if (includes === undefined) return expected === undefined ? throws(fn) : throws(fn, expected);
  throws(fn, (e: unknown) => {
    if (typeof expected === "function" && !(e instanceof (expected as ErrorClass))) return false;
    if (!String((e as Error)?.message).includes(includes)) {
      throw new Error(
        `message ${JSON.stringify((e as Error)?.message)} does not include ${JSON.stringify(includes)}`,
      );
    }
    return true;
  });
}

/** |a - b| <= tol, with a message naming both. */
export function assertClose(a: number, b: number, tol: number, what = "value"): void {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${what}: ${a} is not within ${tol} of ${b}`);
}
