import { QUICKCHAT_ERROR_CODES, QuickChatError, type PortMappingResult, type QuickChat, type XppgError } from "@xppg/quickchat";
import { describe, expect, it } from "vitest";
import { banner } from "../src/banner.js";

/**
 * An unmapped result, as a Playground gives it when the mapper failed. Without
 * `error` it is what a hand-written JavaScript mapper may return (the types
 * require an error; the banner copes without one).
 */
function unmapped(error?: XppgError): PortMappingResult {
  const base = { mapped: false, method: null, externalIp: null, externalPort: 7337, internalPort: 7337, internalIp: null, protocol: "TCP", leaseSeconds: 0, remove: async () => {} } as const;
  return error === undefined ? (base as unknown as PortMappingResult) : { ...base, error };
}

const chat = { port: 7337, room: "xppg-chat", name: "alice", peerId: "xp1test", addresses: ["tcp://127.0.0.1:7337"], reachability: { kind: "unknown" } } as unknown as QuickChat;

describe("banner", () => {
  it("says why the port is not forwarded, without the gateway's terminal controls", () => {
    const nat = unmapped(new QuickChatError(QUICKCHAT_ERROR_CODES.INVALID_ARGUMENT, "refused: \u001b]0;PWNED\u0007\u001b[2Jconflict"));
    const lines = banner(chat, nat).join("\n");
    expect(lines).toContain("Router: no port forwarding (refused: ");
    expect(lines).toContain("conflict");
    expect(lines).not.toMatch(/[\u001b\u0007]/); // eslint-disable-line no-control-regex
  });

  it("names no reason it was not given", () => {
    expect(banner(chat, unmapped()).join("\n")).toContain("(no UPnP, PCP or NAT-PMP answer)");
  });

  it("says how the chat can be reached", () => {
    expect(banner(chat, null).join("\n")).toContain("Reachability: not known yet");
    const relayed = { ...chat, reachability: { kind: "relayed-only" } } as unknown as QuickChat;
    expect(banner(relayed, null).join("\n")).toContain("Reachability: behind a NAT, reachable through a relay");
  });

  it("names the protocol the router mapped the port with", () => {
    const mapped = { ...unmapped(), mapped: true, method: "pcp", externalIp: "198.18.0.11", internalIp: "198.19.1.2", leaseSeconds: 3600 } as unknown as PortMappingResult;
    expect(banner(chat, mapped).join("\n")).toContain("Router: port forwarded (PCP); from the internet, connect to 198.18.0.11:7337");
  });
});
