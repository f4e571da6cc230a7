// The page's peer exchange (the `#peer-exchange` import under the browser
// condition): a page offers no pex/1, so it sends nothing when a link opens
// and a peer that sends it records anyway is dropped with a typed reason, as
// a Node peer drops one that sends them without the capability.
import { describe, expect, it } from "vitest";
import { PeerExchange } from "../src/browser/peer-exchange.js";
import type { PeerExchangeOptions } from "../src/peer-exchange.js";
import type { PeerSession } from "../src/peer-session.js";

describe("peer exchange in a browser page", () => {
  it("sends nothing, and refuses an xppg/pex with XPPG_ERR_PROTOCOL_VIOLATION", () => {
    const pex = new PeerExchange({} as PeerExchangeOptions);
    const sent: unknown[] = [];
    const session = { peerId: "xp1peer", sendMessage: (kind: string, payload: unknown) => void sent.push([kind, payload]) } as unknown as PeerSession;
    pex.advertise("relay", ["ws://127.0.0.1:1/"]);
    pex.opened(session);
    expect(sent).toEqual([]);
    expect(() => pex.receive(session, [])).toThrow(expect.objectContaining({ code: "XPPG_ERR_PROTOCOL_VIOLATION", message: expect.stringContaining('"xppg/pex" without the pex/1 capability') as unknown }));
    expect(pex.stats).toEqual({ learnt: 0, refused: 0, ignored: 0, pushed: 0 });
    pex.close();
  });
});
