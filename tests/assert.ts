// The one place tests get assertions from (node's, since JSR's @std/assert is
// unreachable here); switching to @std/assert later is a one-file change.
export {
  deepEqual as assertEquals,
  equal as assertStrictEquals,
  ok as assert,
  rejects as assertRejects,
  throws as assertThrows,
} from "node:assert/strict";

/** |a - b| <= tol, with a message naming both. */
export function assertClose(a: number, b: number, tol: number, what = "value"): void {
  if (!(Math.abs(a - b) <= tol)) throw new Error(`${what}: ${a} is not within ${tol} of ${b}`);
}
