import type { XppgError } from "@xppg/errors";
import type { Connection } from "../connection.js";
import { contractBrokenError, type TransportError } from "../errors.js";

/**
 * Closes a connection this layer did not make (a third party's transport
 * may be below it). A `close` that throws or rejects breaks the contract
 * (`close` resolves): that is handed to `failed` as
 * `XPPG_ERR_TRANSPORT_CONTRACT`, with what was thrown as its `cause`, never
 * thrown into the caller nor left an unhandled rejection. For a close made
 * once per connection, not per message (it makes a promise).
 *
 * Resolves (never rejects) once the close settled, either way: at once for
 * a close that threw. A layer that waits for the closes below it before it
 * reports its own (a relayed circuit's paths) waits on this. `failed` is
 * the caller's (often an application's handler): if it throws, that is
 * dropped here too, so the promise still resolves and nothing escapes.
 */
export function closeGuarded(conn: Connection, error: XppgError | undefined, failed: (broken: TransportError) => void): Promise<void> {
  const broke = (thrown: unknown): void => {
    try {
      failed(contractBrokenError(conn, "close", thrown));
    } catch {
      // A throwing handler must not turn the guard into the unhandled rejection it exists to prevent.
    }
  };
  try {
    // `Promise.resolve` for a close that returned no promise.
    return Promise.resolve(conn.close(error)).then(undefined, broke);
  } catch (thrown) {
    broke(thrown);
    return Promise.resolve();
  }
}
