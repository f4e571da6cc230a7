import { describe, expect, it } from "vitest";
import { canonicalTarget } from "../src/connection-manager.js";
import { dialBackTarget } from "../src/reach-dialback.js";

describe("the connection manager's dial budget keys one target one way", () => {
  it("counts other spellings of an address and host as the same target", () => {
    const same = ["tcp://VICTIM.example:080", "tcp://victim.example:80", "TCP://victim.example:0080"];
    expect(new Set(same.map((a) => canonicalTarget(a)?.key))).toEqual(new Set(["tcp://victim.example:80"]));
    const loop = ["tcp://127.1:7337", "tcp://2130706433:7337", "tcp://127.0.0.1:7337", "tcp://0x7f.0.0.1:7337"];
    expect(new Set(loop.map((a) => canonicalTarget(a)?.key))).toEqual(new Set(["tcp://127.0.0.1:7337"]));
    expect(canonicalTarget("tcp://[0:0:0:0:0:0:0:1]:7337")).toEqual({ key: "tcp://[::1]:7337", host: "::1" });
    expect(canonicalTarget("not an address")).toBeUndefined();
  });
});

describe("a dial-back is never a probe of this machine or its LAN for a peer on the internet", () => {
  it("refuses special addresses always, loopback and private ones unless the asking link is local too", () => {
    for (const host of ["0.0.0.0", "169.254.169.254", "224.0.0.251", "255.255.255.255", "not-an-ip", "300.1.1.1"]) {
      expect(dialBackTarget(host, "127.0.0.1")).toBe(false);
    }
    expect(dialBackTarget("127.0.0.1", "203.0.113.9")).toBe(false);
    expect(dialBackTarget("192.168.1.5", "203.0.113.9")).toBe(false);
    expect(dialBackTarget("10.0.0.8", "198.51.100.2")).toBe(false);
    expect(dialBackTarget("127.0.0.1", "127.0.0.2")).toBe(true);
    expect(dialBackTarget("192.168.1.5", "192.168.1.9")).toBe(true);
    expect(dialBackTarget("203.0.113.7", "198.51.100.2")).toBe(true);
  });
});
