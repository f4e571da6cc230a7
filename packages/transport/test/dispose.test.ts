import { describe, expect, it } from "vitest";
import { memoryTransport, type Connection } from "../src/index.js";

describe("await using", () => {
  it("closes a connection and a listener when their scope ends", async () => {
    const transport = memoryTransport();
    let accepted: Connection | undefined;
    let kept: Connection | undefined;
    let address: string;
    {
      await using listener = await transport.listen("memory://", (c) => (accepted = c));
      address = listener.address;
      await using conn = await transport.dial(listener.address);
      kept = conn;
      expect(conn.isClosed).toBe(false);
    }
    expect(kept.isClosed).toBe(true);
    expect((await kept.closed).initiator).toBe("local");
    expect((await accepted!.closed).initiator).toBe("remote");
    await expect(transport.dial(address)).rejects.toMatchObject({ code: "XPPG_ERR_DIAL_FAILED" });
  });
});
