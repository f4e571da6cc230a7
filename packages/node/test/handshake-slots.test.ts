import { connect, type Socket } from "node:net";
import { afterEach, describe, expect, it, vi } from "vitest";
import { hostKey } from "../src/abuse-guard.js";
import { HandshakeSlots } from "../src/handshake-slots.js";
import { Playground } from "../src/index.js";
import { stopNodesAfterEach, track } from "./helpers.js";
import { errorsOf, tcpNode } from "./tcp-helpers.js";

stopNodesAfterEach();

const sockets: Socket[] = [];
afterEach(() => {
  for (const s of sockets.splice(0)) s.destroy();
});

describe("HandshakeSlots", () => {
  it("gives each host at most its share, and the node at most its total", () => {
    const slots = new HandshakeSlots(5, 2);
    const a1 = slots.take("a");
    expect(slots.take("a")).not.toBeTypeOf("string");
    expect(slots.take("a")).toBe("host");
    slots.take("b");
    slots.take("c");
    expect(slots.take("d")).not.toBeTypeOf("string");
    expect(slots.take("e")).toBe("node");
    expect(slots.taken).toBe(5);
    if (typeof a1 === "string") throw new Error("a slot was expected");
    a1.release();
    a1.release(); // idempotent
    expect(slots.takenBy("a")).toBe(1);
    expect(slots.take("a")).not.toBeTypeOf("string");
  });

  it("an IPv4 peer on a dual-stack listener is its IPv4 host, not the /64 all IPv4 peers share", () => {
    expect(hostKey("::ffff:198.51.100.7")).toBe("198.51.100.7");
    expect(hostKey("2001:db8:1:2:3:4:5:6")).toBe("[2001:db8:1:2::/64]");
    expect(hostKey("198.51.100.7")).toBe("198.51.100.7");
  });
});

describe("Playground: one host keeping connects in flight (real TCP)", () => {
  it("cannot lock new peers from another host out", async () => {
    // Two listeners: the flood comes from ::1, the honest peers from 127.0.0.1 (another host).
    const pg = await tcpNode({ listen: ["tcp://127.0.0.1:0", "tcp://[::1]:0"] });
    const errors = errorsOf(pg);
    const v6Port = Number(/:(\d+)$/.exec(pg.addresses[1]!)![1]);
    // 64 connects from one host that never start the handshake: twice the node's 32 pending slots.
    for (let i = 0; i < 64; i++) {
      const s = connect({ host: "::1", port: v6Port });
      s.on("error", () => {});
      sockets.push(s);
    }
    await vi.waitFor(() => expect(errors.filter((e) => e.code === "XPPG_ERR_TOO_MANY_PEERS").length).toBeGreaterThanOrEqual(32), { timeout: 4000 });
    const honest = await Promise.all([tcpNode(), tcpNode(), tcpNode()]);
    const joined = await Promise.all(honest.map((h) => h.join(pg.addresses[0]!, undefined, { timeoutMs: 3000 }).then(() => true, () => false)));
    expect(joined).toEqual([true, true, true]);
    await vi.waitFor(() => expect(pg.peers).toHaveLength(3));
  });
});

describe("Playground on WebSocket: sockets count from accept", () => {
  it("caps unfinished upgrades at maxPendingHandshakes, and an honest peer still joins", async () => {
    const { webSocketTransport } = await import("@xppg/transport-ws");
    const ws = (): Playground => track(new Playground("test-app", { listen: ["ws://127.0.0.1:0/xppg"], transports: [webSocketTransport()], limits: { maxPendingHandshakes: 4 } }));
    const victim = ws();
    await victim.start();
    const port = victim.port!;
    // Twelve clients that start an HTTP upgrade and never finish it.
    const closed = new Set<Socket>();
    for (let i = 0; i < 12; i++) {
      const s = connect(port, "127.0.0.1");
      sockets.push(s);
      s.on("error", () => {});
      s.on("close", () => closed.add(s));
      s.write("GET /xppg HTTP/1.1\r\nHost: 127.0.0.1\r\n");
    }
    // The node's cap, not the WebSocket listener's own default (64), holds them: the rest are dropped at once.
    await vi.waitFor(() => expect(closed.size).toBeGreaterThanOrEqual(8), { timeout: 3000 });
    for (const s of sockets.splice(0)) s.destroy();
    const honest = ws();
    await honest.start();
    // The listener frees the slots as it sees the clients go (well before its 5 s upgrade deadline).
    await vi.waitFor(() => honest.join(`ws://127.0.0.1:${port}/xppg`, { timeoutMs: 1000 }), { timeout: 3000, interval: 100 });
    await vi.waitFor(() => expect(victim.peers.map((p) => p.peerId)).toContain(honest.peerId));
  });
});
