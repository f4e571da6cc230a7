import { describe, expect, it } from "vitest";
import type { PeerSession } from "../src/peer-session.js";
import { KnownPeers, MAX_REMEMBERED_PEERS } from "../src/state-knowledge.js";

// KnownPeers keys its records by session object and reads only its peerId.
const session = (peerId: string): PeerSession => ({ peerId }) as PeerSession;

describe("KnownPeers: what this node holds of each peer's state", () => {
  it("trusts marks only after the first sync completed, within one epoch", () => {
    const known = new KnownPeers();
    const s = session("p");
    known.marked(s, 5, false); // before the hello: ignored
    known.hello(s, "E1");
    known.marked(s, 7, false); // before the first sync completed: ignored
    expect(known.have("p")).toBeUndefined();
    known.marked(s, 10, true);
    known.marked(s, 12, false);
    known.marked(s, 11, false);
    expect(known.have("p")).toEqual({ epoch: "E1", seq: 12 });
    // A new session of a restarted peer (new epoch) starts over.
    const again = session("p");
    known.hello(again, "E2");
    known.marked(again, 3, true);
    expect(known.have("p")).toEqual({ epoch: "E2", seq: 3 });
  });

  it("never trusts a session that delivered an update this replica could not hold, even if a later piece fitted", () => {
    const known = new KnownPeers();
    const s = session("p");
    known.hello(s, "E");
    known.forget(s); // a piece refused: this replica was full
    known.marked(s, 10, true); // the last piece fitted
    expect(known.have("p")).toBeUndefined();
  });

  it(`remembers at most ${MAX_REMEMBERED_PEERS} peers, the least recent forgotten first`, () => {
    const known = new KnownPeers();
    for (let i = 0; i <= MAX_REMEMBERED_PEERS; i++) {
      const s = session(`p${i}`);
      known.hello(s, "E");
      known.marked(s, 1, true);
    }
    expect(known.have("p0")).toBeUndefined();
    expect(known.have(`p${MAX_REMEMBERED_PEERS}`)).toEqual({ epoch: "E", seq: 1 });
  });
});
