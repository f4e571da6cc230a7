import { describe, expect, it } from "vitest";
import { parseChatAddress } from "../src/index.js";

describe("parseChatAddress", () => {
  it("reads host, host:port, [ipv6]:port and bare IPv6", () => {
    expect(parseChatAddress("192.168.1.42")).toEqual({ host: "192.168.1.42", port: 7337 });
    expect(parseChatAddress(" example.org:7000 ")).toEqual({ host: "example.org", port: 7000 });
    expect(parseChatAddress("[::1]:7001")).toEqual({ host: "::1", port: 7001 });
    expect(parseChatAddress("[::1]")).toEqual({ host: "::1", port: 7337 });
    expect(parseChatAddress("fe80::1")).toEqual({ host: "fe80::1", port: 7337 });
    expect(parseChatAddress("localhost", 9000)).toEqual({ host: "localhost", port: 9000 });
  });

  it("refuses empty hosts and bad ports with XPPG_ERR_INVALID_ARGUMENT", () => {
    for (const bad of ["", "  ", ":7337", "host:", "host:0", "host:65536", "host:12ab", "host:-1", "[::1]:x"]) {
      expect(() => parseChatAddress(bad), bad).toThrow(expect.objectContaining({ code: "XPPG_ERR_INVALID_ARGUMENT" }));
    }
  });
});
