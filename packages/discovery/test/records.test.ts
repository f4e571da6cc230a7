import { describe, expect, it } from "vitest";
import fc from "fast-check";
import dnsPacket from "dns-packet";
import { appHash } from "../src/app-hash.js";
import { MAX_RECORDS_PER_PACKET } from "../src/constants.js";
import { appQuery, queryWantsUs, readAnnouncements, selfRecords, type SelfRecord } from "../src/records.js";

const PEER = `xp1${"a".repeat(52)}`;
const OTHER = `xp1${"b".repeat(52)}`;
const HASH = appHash("my-app");
const self: SelfRecord = { peerId: PEER, appHash: HASH, port: 7337, addresses: ["198.18.5.1"] };

/** Encoded as on the wire, then decoded as the receiver's socket does. */
function wire(packet: object): unknown {
  return dnsPacket.decode(dnsPacket.encode({ type: "response", ...packet }));
}

describe("announcement records", () => {
  it("round-trip through the DNS codec: peer id, port and TTL", () => {
    expect(readAnnouncements(wire(selfRecords(self, 120)), HASH)).toEqual([{ peerId: PEER, port: 7337, ttl: 120, relays: [] }]);
  });

  it("carry up to four relayed addresses; malformed ones and any past four are dropped when read", () => {
    const relays = [1, 2, 3, 4, 5].map((i) => `relay://198.18.0.${i}:4100/p/${PEER}`);
    expect(readAnnouncements(wire(selfRecords({ ...self, relays }, 120)), HASH)[0]?.relays).toEqual(relays.slice(0, 4));
    // A hostile TXT: a relay address naming a host name, a path, an over-long one, then a good one.
    const { answers, additionals } = selfRecords(self, 120);
    const txt = answers.find((a) => a.type === "TXT")!;
    const forged = { ...txt, data: [...(txt.data as string[]), "r=relay://evil.example:4100/p/x", "r=relay://198.18.0.1:4100/../p/x", `r=relay://198.18.0.1:4100/p/${"x".repeat(200)}`, "r=relay://198.18.0.9:4100/p/ok"] };
    const read = readAnnouncements(wire({ answers: answers.map((a) => (a === txt ? forged : a)), additionals }), HASH);
    expect(read[0]?.relays).toEqual(["relay://198.18.0.9:4100/p/ok"]);
  });

  it("never carry the app name in clear, only its domain-separated hash", () => {
    const bytes = dnsPacket.encode({ type: "response", ...selfRecords({ ...self, appHash: appHash("secret-room-name") }, 120) } as dnsPacket.Packet);
    expect(bytes.includes(Buffer.from("secret-room-name"))).toBe(false);
    expect(appHash("secret-room-name")).toMatch(/^[0-9a-f]{20}$/);
    expect(appHash("a")).not.toBe(appHash("b"));
  });

  it("of another app are ignored, but a goodbye (TTL 0) is read whatever its app", () => {
    expect(readAnnouncements(wire(selfRecords(self, 120)), appHash("other-app"))).toEqual([]);
    expect(readAnnouncements(wire(selfRecords(self, 0)), appHash("other-app"))).toEqual([{ peerId: PEER, port: 7337, ttl: 0, relays: [] }]);
  });

  it("cap a huge TTL, so a forged record cannot stay for days", () => {
    expect(readAnnouncements(wire(selfRecords(self, 0x7fffffff)), HASH)[0]?.ttl).toBe(300);
  });

  it("without an SRV, with a bad port or a name that is no peer id, are ignored", () => {
    const { answers } = selfRecords(self, 120);
    expect(readAnnouncements(wire({ answers: answers.filter((a) => a.type !== "SRV") }), HASH)).toEqual([]);
    const badName = answers.map((a) => ({ ...a, name: a.name.replace(PEER, "Not_A.Label") }));
    expect(readAnnouncements(wire({ answers: badName }), HASH)).toEqual([]);
    const srvPort0 = answers.map((a) => (a.type === "SRV" ? { ...a, data: { ...(a.data as object), port: 0 } } : a));
    expect(readAnnouncements(wire({ answers: srvPort0 }), HASH)).toEqual([]);
  });

  it(`read at most ${MAX_RECORDS_PER_PACKET} records of a packet`, () => {
    const many = Array.from({ length: 40 }, (_, i) => selfRecords({ ...self, peerId: `xp1${String(i).padStart(52, "c")}` }, 120).answers.slice(2)).flat();
    expect(readAnnouncements(wire({ answers: many }), HASH)).toHaveLength(MAX_RECORDS_PER_PACKET / 2);
  });
});

describe("queries", () => {
  it("for our app or the service type want an answer; another app's do not", () => {
    expect(queryWantsUs(appQuery(HASH, [], 120), self, 60)).toBe(true);
    expect(queryWantsUs({ questions: [{ name: "_xppg._tcp.local", type: "PTR" }] }, self, 60)).toBe(true);
    expect(queryWantsUs(appQuery(appHash("other"), [], 120), self, 60)).toBe(false);
  });

  it("that already list us with at least half our TTL need no answer (known-answer suppression)", () => {
    expect(queryWantsUs(wireQuery(appQuery(HASH, [PEER], 120)), self, 60)).toBe(false);
    expect(queryWantsUs(wireQuery(appQuery(HASH, [PEER], 30)), self, 60)).toBe(true);
    expect(queryWantsUs(wireQuery(appQuery(HASH, [OTHER], 120)), self, 60)).toBe(true);
  });
});

function wireQuery(q: object): unknown {
  return dnsPacket.decode(dnsPacket.encode({ type: "query", ...q }));
}

describe("the record parser on hostile input (fast-check)", () => {
  it("never throws and stays bounded on arbitrary values", () => {
    fc.assert(
      fc.property(fc.anything({ maxDepth: 4 }), (value) => {
        const out = readAnnouncements(value, HASH);
        expect(out.length).toBeLessThanOrEqual(MAX_RECORDS_PER_PACKET);
        queryWantsUs(value, self, 60);
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on records of every shape, and whatever it returns is well-formed", () => {
    const record = fc.record({
      name: fc.oneof(fc.string({ maxLength: 300 }), fc.constantFrom(`${PEER}._xppg._tcp.local`, `${OTHER}._xppg._tcp.local`, "_xppg._tcp.local")),
      type: fc.constantFrom("SRV", "TXT", "PTR", "A", "ANY", 7),
      ttl: fc.oneof(fc.integer({ min: -5, max: 2 ** 33 }), fc.double(), fc.constant(undefined)),
      data: fc.oneof(
        fc.anything({ maxDepth: 2 }),
        fc.record({ port: fc.oneof(fc.integer({ min: -10, max: 70_000 }), fc.string()) }),
        fc.array(fc.oneof(fc.string({ maxLength: 400 }), fc.uint8Array({ maxLength: 400 }).map((b) => Buffer.from(b)), fc.constant(`app=${HASH}`)), { maxLength: 20 }),
      ),
    });
    fc.assert(
      fc.property(fc.array(record, { maxLength: 80 }), fc.array(record, { maxLength: 80 }), (answers, additionals) => {
        for (const a of readAnnouncements({ answers, additionals }, HASH)) {
          expect(a.peerId).toMatch(/^[a-z0-9][a-z0-9-]{0,62}$/);
          expect(Number.isInteger(a.port) && a.port >= 1 && a.port <= 65535).toBe(true);
          expect(a.ttl >= 0 && a.ttl <= 300).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });

  it("never throws on random or mutated wire bytes (after the DNS decoder)", () => {
    const valid = dnsPacket.encode({ type: "response", ...selfRecords(self, 120) } as dnsPacket.Packet);
    const mutated = fc.array(fc.tuple(fc.nat(valid.length - 1), fc.integer({ min: 0, max: 255 })), { maxLength: 12 }).map((edits) => {
      const b = Buffer.from(valid);
      for (const [i, v] of edits) b[i] = v;
      return b;
    });
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 1500 }).map((b) => Buffer.from(b)), mutated), (bytes) => {
        let decoded: unknown;
        try {
          decoded = dnsPacket.decode(bytes);
        } catch {
          return; // the socket layer drops what does not decode
        }
        expect(readAnnouncements(decoded, HASH).length).toBeLessThanOrEqual(MAX_RECORDS_PER_PACKET);
      }),
      { numRuns: 1000 },
    );
  });
});
