import type { NatResultLike, QuickChat } from "@xppg/quickchat";
import { describe, expect, it } from "vitest";
import { banner } from "../src/banner.js";

const chat = { port: 7337, room: "xppg-chat", name: "alice", peerId: "xp1test", addresses: ["tcp://127.0.0.1:7337"] } as unknown as QuickChat;

describe("banner", () => {
  it("says why the port is not forwarded, without the gateway's terminal controls", () => {
    const nat: NatResultLike = { mapped: false, error: new Error("refused: \u001b]0;PWNED\u0007\u001b[2Jconflict"), remove: async () => {} };
    const lines = banner(chat, nat).join("\n");
    expect(lines).toContain("Router: no port forwarding (refused: ");
    expect(lines).toContain("conflict");
    expect(lines).not.toMatch(/[\u001b\u0007]/); // eslint-disable-line no-control-regex
  });

  it("names no reason it was not given", () => {
    expect(banner(chat, { mapped: false, remove: async () => {} }).join("\n")).toContain("(no UPnP answer)");
  });
});
