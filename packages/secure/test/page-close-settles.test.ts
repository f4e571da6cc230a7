// A page's secure channel at its clean close: what it was given before `close()` is sealed and handed to the
// connection below, then its authenticated end of stream; the sends whose frames were sealed and handed so resolve
// (as in Node's record layer), and the other side gets every frame and a clean close.
import type { Connection, Transport } from "@xppg/transport";
import { memoryTransport } from "@xppg/transport";
import { Collector, patterned, within } from "@xppg/transport/compliance";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it } from "vitest";
import { secureConnection as pageSecureConnection } from "../src/browser.js";
import { generateIdentity, secureConnection as nodeSecureConnection, type SecureConnection, type SecureConnectionOptions } from "../src/index.js";

type Secure = (conn: Connection, options: SecureConnectionOptions) => Promise<SecureConnection>;

describe("a page's clean close", () => {
  const below: Array<[string, () => Transport, string]> = [
    ["memory", () => memoryTransport(), "memory://page-close"],
    ["tcp", () => tcpTransport(), "tcp://127.0.0.1:0"],
  ];
  for (const [belowName, transport, address] of below) {
    for (const [otherName, otherSide] of [
      ["a Node side", nodeSecureConnection],
      ["another page", pageSecureConnection],
    ] as Array<[string, Secure]>) {
      it(`over ${belowName} to ${otherName}: sends past the high-water mark made just before close() resolve, and every frame arrives`, async () => {
        const t = transport();
        let accepted!: Promise<SecureConnection>;
        const l = await t.listen(address, (c) => void (accepted = otherSide(c, { identity: generateIdentity() })));
        try {
          const page = await pageSecureConnection(await t.dial(l.address), { identity: generateIdentity() });
          const other = await within(accepted, "the listener's handshake");
          const atOther = new Collector(other);
          // 1.2 MB in one tick: past what the page seals ahead (512 KiB), so the later sends wait for room.
          const frames = [1, 2, 3, 4].map((n) => patterned(300_000, n));
          const outcomes = frames.map((f) =>
            page.send(f).then(
              () => "resolved",
              (error: Error & { code?: string }) => error.code ?? error.message,
            ),
          );
          const closed = page.close();
          expect(await Promise.all(outcomes)).toEqual(frames.map(() => "resolved"));
          await closed;
          await atOther.waitFor(frames.length);
          frames.forEach((f, i) => expect(Buffer.from(atOther.frames[i]!).equals(Buffer.from(f)), `frame ${i}`).toBe(true));
          expect((await within(other.closed, "the other side's close")).error).toBeUndefined();
        } finally {
          await l.close();
        }
      });
    }
  }
});
