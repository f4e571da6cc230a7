import "../../../tools/test/loopback-only.js";
import { generateKeyPairSync, sign } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateDht, type PrivateDht } from "../../../tools/test/private-dht.js";
import { dhtDiscovery, type DhtDiscovery } from "../src/index.js";

let net: PrivateDht;
const open: DhtDiscovery[] = [];
beforeAll(async () => {
  net = await privateDht(20);
});
afterAll(async () => {
  await Promise.all(open.map((d) => d.close()));
  await net.close();
});

function dht(appName = "records"): DhtDiscovery {
  const d = dhtDiscovery({ appName, bootstrap: net.bootstrap, host: "127.0.0.1", queryTimeoutMs: 500, lookupTimeoutMs: 5_000, maxPacketsPerSecondPerHost: 100_000, maxPacketsPerSecond: 100_000 });
  open.push(d);
  return d;
}

function keyPair(): { publicKey: Uint8Array; sign(data: Uint8Array): Uint8Array } {
  const { publicKey, privateKey } = generateKeyPairSync("ed25519");
  const raw = publicKey.export({ format: "der", type: "spki" }).subarray(-32);
  return { publicKey: new Uint8Array(raw), sign: (data) => new Uint8Array(sign(null, data, privateKey)) };
}
const text = (v: Uint8Array | undefined): string | undefined => (v === undefined ? undefined : Buffer.from(v).toString("utf8"));

describe("signed records (BEP 44) on a private DHT", () => {
  it("a record published under a key is found by another node, and a newer one replaces it", async () => {
    const key = keyPair();
    const writer = dht();
    const reader = dht();
    expect(await writer.publish({ ...key, value: Buffer.from("tcp://127.0.0.1:7001"), seq: 1 })).toBeGreaterThan(0);
    expect(text((await reader.resolve(key.publicKey))?.value)).toBe("tcp://127.0.0.1:7001");
    await writer.publish({ ...key, value: Buffer.from("tcp://127.0.0.1:7002"), seq: 2 });
    const found = await reader.resolve(key.publicKey);
    expect(found).toMatchObject({ seq: 2 });
    expect(text(found?.value)).toBe("tcp://127.0.0.1:7002");
  }, 30_000);

  it("a record signed by another key, or with an older sequence number, is not taken; another app finds nothing", async () => {
    const key = keyPair();
    const forger = keyPair();
    const writer = dht();
    const reader = dht();
    await writer.publish({ ...key, value: Buffer.from("honest"), seq: 10 });
    // The forger signs with its own key but names the victim's: no node stores it, no reader takes it.
    await expect(writer.publish({ publicKey: key.publicKey, sign: forger.sign, value: Buffer.from("forged"), seq: 11 })).rejects.toMatchObject({ code: "XPPG_ERR_DHT_ANNOUNCE_FAILED" });
    // An older sequence number is refused by the nodes holding the newer one.
    await writer.publish({ ...key, value: Buffer.from("replayed"), seq: 9 }).catch(() => 0);
    const found = await reader.resolve(key.publicKey);
    expect(text(found?.value)).toBe("honest");
    expect(found?.seq).toBe(10);
    expect(await dht("another-app").resolve(key.publicKey)).toBeUndefined();
  }, 30_000);

  it("refuses a value over 1000 bytes and a bad key with XPPG_ERR_INVALID_ARGUMENT, before anything is sent", async () => {
    const d = dht();
    const key = keyPair();
    await expect(d.publish({ ...key, value: new Uint8Array(995), seq: 1 })).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    await expect(d.publish({ ...key, publicKey: new Uint8Array(31), value: new Uint8Array(1), seq: 1 })).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    await expect(d.resolve(new Uint8Array(5))).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    expect(d.stats.packets.sent).toBe(0);
  });
});

describe("a record's bytes whose length lies", () => {
  class Lying extends Uint8Array {
    claimed = 0;
    override get length(): number {
      return this.claimed;
    }
  }
  function lying(bytes: Uint8Array, claimed: number): Uint8Array {
    const a = new Lying(bytes.length);
    a.set(bytes);
    a.claimed = claimed;
    return a;
  }

  it("publishes exactly the bytes the value holds, never the memory a claimed length reaches", async () => {
    const key = keyPair();
    const writer = dht();
    const reader = dht();
    // Node's pool holds other bytes right after where a copy by the claimed length would land.
    Buffer.from("not for the DHT ".repeat(40));
    expect(await writer.publish({ ...key, value: lying(Buffer.from("real"), 600), seq: 1 })).toBeGreaterThan(0);
    expect(text((await reader.resolve(key.publicKey))?.value)).toBe("real");
  }, 30_000);

  it("refuses a Proxy of a value or key with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const key = keyPair();
    const d = dht();
    await expect(d.publish({ ...key, value: new Proxy(Buffer.from("real"), {}), seq: 1 })).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
    await expect(d.resolve(new Proxy(key.publicKey, {}))).rejects.toMatchObject({ code: "XPPG_ERR_INVALID_ARGUMENT" });
  });
});
