import { isXppgError } from "@xppg/errors";
import { expect } from "vitest";
import { StateError, type StateErrorCode } from "../../src/index.js";

/** Runs `fn`, expects it to throw a StateError with `code`, and returns the error. */
export function expectStateError(fn: () => unknown, code: StateErrorCode): StateError {
  let thrown: unknown;
  try {
    fn();
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected ${code}`).toBeInstanceOf(StateError);
  expect(isXppgError(thrown, code), `expected ${code}, got ${(thrown as StateError).code}: ${(thrown as Error).message}`).toBe(true);
  return thrown as StateError;
}
