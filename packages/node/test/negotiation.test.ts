import fc from "fast-check";
import { describe, expect, test } from "vitest";
import { MAX_CAPABILITIES, mismatchReason, parseOffer, settle, type ProtocolOffer } from "../src/negotiation.js";

const capability = fc.oneof(fc.constantFrom("mesh/1", "mesh/2", "relay/1", "files/2", "state-sync/2", "x/1"), fc.stringMatching(/^[a-z]{1,6}\/[1-9]$/));
const offerArb = fc
  .tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 6 }), fc.array(capability, { maxLength: 12 }))
  .map(([min, width, caps]) => parseOffer({ versions: [min, min + width], caps }) as ProtocolOffer);

describe("negotiation", () => {
  test("property: both sides settle on the same version and capabilities, or both refuse with the same sentence", () => {
    fc.assert(
      fc.property(offerArb, offerArb, (a, b) => {
        const ab = settle(a, b);
        const ba = settle(b, a);
        expect(ab).toEqual(ba);
        if (ab === null) {
          expect(Math.max(a.min, b.min)).toBeGreaterThan(Math.min(a.max, b.max));
          const fromA = mismatchReason({ peerId: "pa", offer: a }, { peerId: "pb", offer: b });
          expect(mismatchReason({ peerId: "pb", offer: b }, { peerId: "pa", offer: a })).toBe(fromA);
          return;
        }
        // The highest version in both ranges, and exactly the shared capabilities.
        expect(ab.version).toBe(Math.min(a.max, b.max));
        expect(ab.version).toBeGreaterThanOrEqual(Math.max(a.min, b.min));
        expect(ab.capabilities).toEqual(a.capabilities.filter((c) => b.capabilities.includes(c)));
        expect([...ab.capabilities].sort()).toEqual(ab.capabilities);
      }),
      { numRuns: 2000 },
    );
  });

  test("a hello from before negotiation (one protocol number) offers exactly that version, no capabilities", () => {
    expect(parseOffer({ protocol: 2 })).toEqual({ min: 2, max: 2, capabilities: [] });
    expect(settle(parseOffer({ protocol: 2 }) as ProtocolOffer, parseOffer({ versions: [2, 3], caps: ["mesh/1"] }) as ProtocolOffer)).toEqual({ version: 2, capabilities: [] });
  });

  test("unknown capability names and names of another shape are ignored; duplicates collapse", () => {
    expect(parseOffer({ versions: [2, 2], caps: ["mesh/1", "mesh/1", "teleport/9", "Weird Name", "future:form", "mesh/1"] })).toEqual({ min: 2, max: 2, capabilities: ["mesh/1", "teleport/9"] });
  });

  test("the refusal names both ranges and the side that should upgrade", () => {
    const old = parseOffer({ protocol: 1 }) as ProtocolOffer;
    const current = parseOffer({ versions: [2, 3] }) as ProtocolOffer;
    expect(mismatchReason({ peerId: "xp-new", offer: current }, { peerId: "xp-old", offer: old })).toBe(
      "protocol mismatch: xp-new speaks xppg protocol versions 2 to 3, xp-old speaks version 1; no version in common. xp-old runs the older release and should upgrade.",
    );
  });

  test("hostile offers are refused with a sentence that says what is wrong", () => {
    expect(parseOffer({ versions: [0, 2 ** 53] })).toBe("the hello's version range [0, 9007199254740992] is not within [1, 65535] with the lowest first");
    expect(parseOffer({ versions: [3, 2] })).toMatch(/lowest first/);
    expect(parseOffer({ versions: [1, 2, 3] })).toMatch(/not \[lowest, highest\]/);
    expect(parseOffer({ protocol: 1.5 })).toMatch(/not an integer from 1 to 65535/);
    expect(parseOffer({ versions: [1, 1], caps: Array.from({ length: 10_000 }, (_, i) => `c${i}/1`) })).toBe(
      `the hello lists 10000 capabilities; at most ${MAX_CAPABILITIES} are allowed`,
    );
    expect(parseOffer({ versions: [1, 1], caps: ["x".repeat(1 << 20)] })).toBe("the hello lists a capability name of 1048576 characters; at most 64 are allowed");
    expect(parseOffer({ versions: [1, 1], caps: [{ name: "mesh/1" }] })).toMatch(/not a name/);
    expect(parseOffer({ versions: [1, 1], caps: "mesh/1" })).toMatch(/not a list/);
  });
});
