import { createSocket } from "node:dgram";
import { afterEach, describe, expect, it, vi } from "vitest";
import { createPortMapper, tryNatPmpMap, tryPcpMap, type NatError } from "../src/index.js";
import { GATEWAY_EXTERNAL_IP, startPmpGateway, type PmpGateway } from "./fixtures/pmp-gateway.js";

let gw: PmpGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

const at = (g: PmpGateway) => ({ gateway: "127.0.0.1", gatewayPort: g.port });

/** A UDP port on loopback that nothing listens on (bound, read, closed). */
async function closedPort(): Promise<number> {
  const s = createSocket("udp4");
  await new Promise<void>((r) => s.bind(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("tryPcpMap", () => {
  it("maps, reports what the gateway granted, and deletes with lifetime 0 and the same nonce", async () => {
    gw = await startPmpGateway({ maxLifetime: 600 });
    gw.behaviour.taken.add(41000);
    const nat = await tryPcpMap({ internalPort: 41000, ...at(gw) });
    expect(nat).toMatchObject({ mapped: true, method: "pcp", externalIp: GATEWAY_EXTERNAL_IP, externalPort: 41001, internalPort: 41000, internalIp: "127.0.0.1", protocol: "TCP", leaseSeconds: 600 });
    expect(gw.mappings.get("TCP/41000")).toEqual({ externalPort: 41001, lifetime: 600 });
    await nat.remove();
    expect(gw.mappings.has("TCP/41000")).toBe(false);
    const [add, del] = gw.requests;
    expect(del?.bytes.readUInt32BE(4)).toBe(0);
    expect(del?.bytes.subarray(24, 36)).toEqual(add?.bytes.subarray(24, 36));
  });

  it("a refusal is a typed error with the PCP result code", async () => {
    gw = await startPmpGateway({ resultCode: 2 });
    const nat = await tryPcpMap({ internalPort: 41002, ...at(gw) });
    expect(nat.mapped).toBe(false);
    expect(nat.error?.code).toBe("XPPG_ERR_NAT_MAPPING_REFUSED");
    expect(nat.error?.details).toMatchObject({ pcpResultCode: 2 });
    expect(nat.error?.message).toContain("NOT_AUTHORIZED");
  });

  it("a NAT-PMP-only gateway answers at once with 'unsupported version'", async () => {
    gw = await startPmpGateway({ speaks: "natpmp" });
    const nat = await tryPcpMap({ internalPort: 41003, ...at(gw), timeoutMs: 10_000 });
    expect(nat.error?.code).toBe("XPPG_ERR_NAT_UNSUPPORTED_GATEWAY");
    expect(nat.error?.details).toMatchObject({ natPmp: true });
    expect(gw.requests).toHaveLength(1);
  });

  it("ignores junk, other nonces, oversized datagrams and answers from another port; takes the real answer", async () => {
    gw = await startPmpGateway();
    gw.behaviour.before = (req, send, other) => {
      send(Buffer.from("not pcp at all"));
      send(Buffer.alloc(2000, 0x02));
      const wrongNonce = Buffer.alloc(60);
      req.copy(wrongNonce, 24, 24, 60);
      wrongNonce.writeUInt8(2, 0);
      wrongNonce.writeUInt8(0x81, 1);
      wrongNonce.writeUInt32BE(99, 4);
      wrongNonce[24] = (wrongNonce[24] ?? 0) ^ 0xff;
      wrongNonce.writeUInt16BE(1, 42);
      wrongNonce.writeUInt16BE(0xffff, 54);
      wrongNonce.set([10, 0, 0, 1], 56);
      send(wrongNonce);
      // A correct-looking success from the gateway's host but another port: the kernel drops it.
      const spoof = Buffer.from(wrongNonce);
      req.copy(spoof, 24, 24, 36);
      other(spoof);
    };
    const nat = await tryPcpMap({ internalPort: 41004, ...at(gw) });
    expect(nat).toMatchObject({ mapped: true, externalIp: GATEWAY_EXTERNAL_IP, externalPort: 41004 });
    await nat.remove();
  });

  it("a gateway that sends only junk yields a timeout within the bound", async () => {
    gw = await startPmpGateway();
    gw.behaviour.before = (_req, send) => {
      send(Buffer.alloc(60, 0xee));
      return false;
    };
    const nat = await tryPcpMap({ internalPort: 41005, ...at(gw), timeoutMs: 400 });
    expect(nat.error?.code).toBe("XPPG_ERR_NAT_TIMEOUT");
    expect(nat.error?.details).toMatchObject({ requestsSent: 1, timeoutMs: 400 });
  });

  it("nothing listening is 'no gateway', without waiting for the bound", async () => {
    const nat = await tryPcpMap({ internalPort: 41006, gateway: "127.0.0.1", gatewayPort: await closedPort(), timeoutMs: 60_000 });
    expect(nat.error?.code).toBe("XPPG_ERR_NAT_NO_GATEWAY");
  });

  it("renews at half the granted lifetime and reports it", async () => {
    gw = await startPmpGateway({ maxLifetime: 2 });
    const onRenewed = vi.fn();
    const nat = await tryPcpMap({ internalPort: 41007, ...at(gw), onRenewed });
    expect(nat.leaseSeconds).toBe(2);
    await vi.waitFor(() => expect(onRenewed).toHaveBeenCalledWith({ leaseSeconds: 2 }), { timeout: 4000 });
    await nat.remove();
    expect(gw.mappings.size).toBe(0);
  });

  it("a signal stops it with XPPG_ERR_ABORTED, before or during the exchange", async () => {
    gw = await startPmpGateway({ silent: true });
    await expect(tryPcpMap({ internalPort: 41008, ...at(gw), signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    const controller = new AbortController();
    const pending = tryNatPmpMap({ internalPort: 41009, ...at(gw), timeoutMs: 60_000, signal: controller.signal });
    await expect.poll(() => gw?.requests.length).toBeGreaterThan(0);
    controller.abort(new Error("the user left"));
    await expect(pending).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
    await expect(createPortMapper({ ...at(gw), protocols: ["pcp"] }).map({ internalPort: 41009, signal: AbortSignal.abort() })).rejects.toMatchObject({ code: "XPPG_ERR_ABORTED" });
  });

  it("rejects invalid options", async () => {
    await expect(tryPcpMap({ internalPort: 0 })).rejects.toMatchObject({ code: "XPPG_ERR_NAT_INVALID_OPTIONS" });
    await expect(tryPcpMap({ internalPort: 1, gateway: "gateway.example" })).rejects.toMatchObject({ code: "XPPG_ERR_NAT_INVALID_OPTIONS" });
  });
});

describe("tryNatPmpMap", () => {
  it("reads the external address, maps UDP, and deletes", async () => {
    gw = await startPmpGateway({ speaks: "natpmp" });
    const nat = await tryNatPmpMap({ internalPort: 41010, protocol: "UDP", ...at(gw) });
    expect(nat).toMatchObject({ mapped: true, method: "natpmp", externalIp: GATEWAY_EXTERNAL_IP, externalPort: 41010, protocol: "UDP", leaseSeconds: 3600 });
    await nat.remove();
    expect(gw.mappings.size).toBe(0);
    expect(gw.requests.map((r) => r.opcode)).toEqual([0, 1, 1]);
  });

  it("a refusal carries the NAT-PMP result code", async () => {
    gw = await startPmpGateway({ resultCode: 4 });
    const nat = await tryNatPmpMap({ internalPort: 41011, ...at(gw) });
    expect(nat.error?.code).toBe("XPPG_ERR_NAT_MAPPING_REFUSED");
    expect((nat.error as NatError).details).toMatchObject({ natPmpResultCode: 4 });
  });

  it("an answer about another internal port is not taken", async () => {
    gw = await startPmpGateway();
    gw.behaviour.before = (req, send) => {
      if (req[1] !== 2) return;
      const other = Buffer.alloc(16);
      other.writeUInt8(130, 1);
      other.writeUInt16BE(req.readUInt16BE(4) + 1, 8);
      other.writeUInt16BE(9, 10);
      other.writeUInt32BE(60, 12);
      send(other);
    };
    const nat = await tryNatPmpMap({ internalPort: 41012, ...at(gw) });
    expect(nat).toMatchObject({ mapped: true, externalPort: 41012 });
    await nat.remove();
  });
});

describe("createPortMapper", () => {
  it("falls through UPnP and PCP to NAT-PMP within one bound", async () => {
    gw = await startPmpGateway({ speaks: "natpmp" });
    const mapper = createPortMapper({ ...at(gw), gatewayUrl: `http://127.0.0.1:${await closedPort()}/rootDesc.xml` });
    const nat = await mapper.map({ internalPort: 41020, timeoutMs: 2500 });
    expect(nat).toMatchObject({ mapped: true, method: "natpmp", externalPort: 41020 });
    // PCP asked once, learned "NAT-PMP only", then NAT-PMP: address + map
    expect(gw.requests.map((r) => r.version)).toEqual([2, 0, 0]);
    await nat.remove();
  });

  it("prefers PCP when the gateway speaks it", async () => {
    gw = await startPmpGateway();
    const nat = await createPortMapper({ ...at(gw), protocols: ["pcp", "natpmp"] }).map({ internalPort: 41021 });
    expect(nat.method).toBe("pcp");
    await nat.remove();
  });

  it("when nothing maps, says what each protocol answered, the most telling error first", async () => {
    gw = await startPmpGateway({ resultCode: 2 });
    const nat = await createPortMapper({ ...at(gw), protocols: ["pcp", "natpmp"] }).map({ internalPort: 41022 });
    expect(nat.mapped).toBe(false);
    expect(nat.error?.code).toBe("XPPG_ERR_NAT_MAPPING_REFUSED");
    expect(nat.error?.details?.["attempts"]).toEqual([
      { protocol: "pcp", code: "XPPG_ERR_NAT_MAPPING_REFUSED" },
      { protocol: "natpmp", code: "XPPG_ERR_NAT_MAPPING_REFUSED" },
    ]);
  });

  it("refuses an unknown protocol", () => {
    expect(() => createPortMapper({ protocols: ["upnp", "carrier-pigeon" as "upnp"] })).toThrow(/protocols/);
  });
});
