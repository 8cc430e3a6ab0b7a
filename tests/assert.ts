// The one place tests get assertions from (node's, since JSR's @std/assert is
// unreachable here); switching to @std/assert later is a one-file change.
export { deepEqual as assertEquals, equal as assertStrictEquals, ok as assert } from "node:assert/strict";
import { rejects, throws } from "node:assert/strict";
import { ClientError } from "../shared/errors.ts";

// deno-lint-ignore no-explicit-any
type ErrorClass = new (...args: any[]) => Error;
type Expected = ErrorClass | RegExp | ((e: Error) => boolean);

/**
 * What node's `throws`/`rejects` are given for `expected` plus `includes`:
 * with no `includes`, `expected` itself (a class: instanceof; a pattern:
 * matched against the error; a predicate: must return true); with
 * `includes`, a check that does all of that and then requires the message
 * to contain `includes`, as @std/assert reads a third argument (node's
 * would take it for the failure's text and check nothing).
 */
function expectation(expected?: Expected, includes?: string) {
  if (includes === undefined) return expected;
  return (e: unknown) => {
    const message = String((e as Error)?.message);
    if (expected instanceof RegExp) {
      if (!expected.test(message)) {
        throw new Error(`message ${JSON.stringify(message)} does not match ${expected}`);
      }
    } else if (expected === Error || (expected as ErrorClass | undefined)?.prototype instanceof Error) {
      if (!(e instanceof (expected as ErrorClass))) {
        throw new Error(`${e} is not an instance of ${(expected as ErrorClass).name}`);
      }
    } else if (expected && (expected as (e: Error) => boolean)(e as Error) !== true) {
      throw new Error(`${e} does not satisfy ${expected}`);
    }
    if (!message.includes(includes)) {
      throw new Error(`message ${JSON.stringify(message)} does not include ${JSON.stringify(includes)}`);
    }
    return true;
  };
}

/**
 * `fn` throws, and what it throws passes `expected` (a class, a pattern for
 * its message, or a predicate); with `includes`, its message also contains
 * that text.
 */
export function assertThrows(fn: () => unknown, expected?: Expected, includes?: string): void {
  const check = expectation(expected, includes);
  if (check === undefined) throws(fn);
  else throws(fn, check);
}

/** The promise (or `fn`'s) rejects, and the reason passes `expected` and `includes` as for assertThrows. */
export async function assertRejects(
  fn: Promise<unknown> | (() => Promise<unknown>),
  expected?: Expected,
  includes?: string,
): Promise<void> {
  const check = expectation(expected, includes);
  if (check === undefined) await rejects(fn);
  else await rejects(fn, check);
}

/** |a - b| <= tol, with a message naming both. */
export function assertClose(a: number, b: number, tol: number, what = "value"): void {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${what}: ${a} is not within ${tol} of ${b}`);
}

/** For assertThrows/assertRejects: a ClientError with `code`, its message matching `text` when given. */
export const clientError = (code: string, text?: RegExp) => (e: Error) =>
  e instanceof ClientError && e.code === code && (!text || text.test(e.message));
