import { vi } from "vitest";

/**
 * Waits until `check` returns true, polling every 5 ms (through `vi.waitFor`);
 * fails after `timeoutMs` naming `what` it waited for. The one polling helper
 * of the test suites: use it (or `vi.waitFor` / `expect.poll`), never a fixed
 * sleep.
 */
export async function until(check: () => boolean, timeoutMs = 10_000, what = "condition"): Promise<void> {
  await vi.waitFor(
    () => {
      if (!check()) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    },
    { timeout: timeoutMs, interval: 5 },
  );
}
