import { expect } from "vitest";

/**
 * The error `run` throws, checked to be a `type`; the test fails when `run` returns instead.
 * For tests that go on to read the error's fields: `thrown(() => parseConfig(text), ConfigError).issues`.
 */
export function thrown<E extends Error>(run: () => unknown, type: abstract new (...args: never[]) => E): E {
  let error: unknown;
  try {
    run();
  } catch (caught) {
    error = caught;
  }
  expect(error, `expected ${type.name} to be thrown`).toBeInstanceOf(type);
  return error as E;
}
