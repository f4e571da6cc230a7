import { describe, expect, it } from "vitest";
import { formatWsAddress, parseWsAddress } from "../src/index.js";

describe("ws addresses", () => {
  it("reads hosts, ports and paths", () => {
    expect(parseWsAddress("ws://127.0.0.1:7338/xppg")).toEqual({ secure: false, host: "127.0.0.1", port: 7338, explicitPort: true, path: "/xppg" });
    expect(parseWsAddress("ws://[::1]:80/")).toEqual({ secure: false, host: "::1", port: 80, explicitPort: true, path: "/" });
    expect(parseWsAddress("wss://peer.example.org/a/b")).toEqual({ secure: true, host: "peer.example.org", port: 443, explicitPort: false, path: "/a/b" });
    expect(parseWsAddress("ws://localhost:0")).toMatchObject({ port: 0, path: "/" });
  });

  it("refuses malformed ones", () => {
    for (const bad of ["", "ws://", "http://h:1/", "ws://h:65536/", "ws://u:p@h:1/", "ws://h:1/?q=1", "ws://h:1/#x", "ws://a b:1/", "ws:/h:1"]) {
      expect(parseWsAddress(bad), bad).toBeNull();
    }
  });

  it("writes IPv6 in brackets", () => {
    expect(formatWsAddress("::1", 8080, "/x")).toBe("ws://[::1]:8080/x");
    expect(formatWsAddress("h", 443, "y", true)).toBe("wss://h:443/y");
  });
});
