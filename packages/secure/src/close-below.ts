import type { XppgError } from "@xppg/errors";
import type { Connection } from "@xppg/transport";
import { closeGuarded, type LinkController } from "@xppg/transport/adapter";

/**
 * Closes the connection below a secure channel. One whose `close` throws or
 * rejects breaks its contract (a third party's transport): that is told to
 * the controller as `XPPG_ERR_TRANSPORT_CONTRACT` (the secure connection's
 * `closed` reports it unless an earlier error does), never thrown into the
 * caller nor left an unhandled rejection. Once per connection, not per record.
 */
export function closeBelow(conn: Connection, controller: LinkController, error?: XppgError): void {
  void closeGuarded(conn, error, (broken) => controller.error(broken));
}
