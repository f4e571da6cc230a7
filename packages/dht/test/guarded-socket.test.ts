import "../../../tools/test/loopback-only.js";
import { createSocket } from "node:dgram";
import { describe, expect, it } from "vitest";
import { GuardedSocket, isUnicastIPv4, loopbackBootstrap, type PacketFailure } from "../src/guarded-socket.js";

describe("GuardedSocket", () => {
  it("never sends to a loopback address off a private loopback DHT, nor to an address that is not unicast", async () => {
    const socket = new GuardedSocket({ perHost: 10, total: 10, loopback: false });
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    const sent: (Error | null)[] = [];
    for (const host of ["127.0.0.1", "127.0.0.53", "0.0.0.0", "224.0.0.251", "255.255.255.255", "not-an-ip"]) {
      await new Promise<void>((r) => socket.send(Buffer.from("x"), 0, 1, 53, host, (e) => (sent.push(e), r())));
    }
    expect(socket.stats).toMatchObject({ sent: 0, refused: 6 });
    expect(sent.every((e) => e === null)).toBe(true);
    socket.close();
  });

  it("drops inbound packets past the per-address rate and over 8 KiB, before anyone reads them", async () => {
    const socket = new GuardedSocket({ perHost: 5, total: 1_000, loopback: true });
    const read: Buffer[] = [];
    socket.on("message", (m: Buffer) => read.push(m));
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    const port = socket.address().port;
    const flood = createSocket("udp4");
    await new Promise<void>((r) => flood.bind(0, "127.0.0.7", r));
    flood.send(Buffer.alloc(8_193), port, "127.0.0.1");
    for (let i = 0; i < 50; i++) flood.send(Buffer.from([i]), port, "127.0.0.1");
    await expect.poll(() => socket.stats.received + socket.stats.dropped).toBe(51);
    expect(socket.stats.oversize).toBe(1);
    // A burst of 5 (the bucket is full at first), and perhaps one more token refilled meanwhile.
    expect(read.length).toBeGreaterThanOrEqual(5);
    expect(read.length).toBeLessThanOrEqual(7);
    flood.close();
    socket.close();
  });

  it("a packet the library throws on is dropped, counted, and reported at most once a minute", async () => {
    const socket = new GuardedSocket({ perHost: 1_000, total: 1_000, loopback: true });
    socket.on("message", () => {
      throw new TypeError("a shape the screen let through");
    });
    const failures: PacketFailure[] = [];
    socket.on("failed", (f: PacketFailure) => failures.push(f));
    await new Promise<void>((r) => socket.bind(0, "127.0.0.1", r));
    const sender = createSocket("udp4");
    await new Promise<void>((r) => sender.bind(0, "127.0.0.9", r));
    for (let i = 0; i < 3; i++) sender.send(Buffer.from([i]), socket.address().port, "127.0.0.1");
    await expect.poll(() => socket.stats.malformed).toBe(3);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toMatchObject({ host: "127.0.0.9", port: sender.address().port, count: 1 });
    expect((failures[0]!.error as Error).message).toBe("a shape the screen let through");
    sender.close();
    socket.close();
  });

  it("knows a private loopback DHT and unicast IPv4", () => {
    expect(loopbackBootstrap(["127.0.0.1:6881"])).toBe(true);
    expect(loopbackBootstrap(["router.bittorrent.com:6881"])).toBe(false);
    expect(isUnicastIPv4("8.8.8.8")).toBe(true);
    expect(isUnicastIPv4("239.1.1.1")).toBe(false);
    expect(isUnicastIPv4("::1")).toBe(false);
  });
});
