import { describe, expect, it } from "vitest";
import { Reachability, type ReachabilityKind } from "../src/reachability.js";

describe("Reachability", () => {
  it("needs two observers to agree before it says public, and reports each change once", () => {
    const r = new Reachability();
    const changes: [ReachabilityKind, ReachabilityKind][] = [];
    r.events.on("change", (s, previous) => void changes.push([previous, s.kind]));
    r.observe("relay-a", "198.18.0.3:4000");
    r.dialback("relay-a", true);
    expect(r.kind).toBe("unknown"); // one peer's word is not enough
    r.dialback("relay-a", true); // the same observer again counts once
    expect(r.kind).toBe("unknown");
    r.observe("relay-b", "198.18.0.3:4000");
    r.dialback("relay-b", true);
    expect(r.kind).toBe("public");
    expect(r.status()).toMatchObject({ observed: ["198.18.0.3:4000"], dialbacksOk: 2, dialbacksFailed: 0 });
    expect(changes).toEqual([["unknown", "public"]]);
  });

  it("behind a NAT: failed dial-backs from two observers; relayed once a reservation is held", () => {
    const r = new Reachability();
    r.dialback("a", false);
    expect(r.kind).toBe("unknown");
    r.dialback("b", false);
    expect(r.kind).toBe("behind-nat");
    r.relay("relay://198.18.0.1:4100/p/me", true);
    expect(r.kind).toBe("relayed-only");
    r.relay("relay://198.18.0.1:4100/p/me", false);
    expect(r.kind).toBe("behind-nat");
  });

  it("a mapped port confirmed by dial-backs is port-mapped; a forged observation changes nothing alone", () => {
    const r = new Reachability();
    r.mapped("198.18.0.11:7337");
    r.observe("liar", "203.0.113.66:1");
    expect(r.kind).toBe("unknown");
    r.dialback("a", true);
    r.dialback("b", true);
    expect(r.kind).toBe("port-mapped");
  });

  it("remembers a bounded number of observers", () => {
    const r = new Reachability();
    for (let i = 0; i < 1000; i++) r.dialback(`o${i}`, i % 2 === 0);
    const s = r.status();
    expect(s.dialbacksOk + s.dialbacksFailed).toBe(64);
  });
});
