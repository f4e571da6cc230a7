import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { decodeNatPmpAddressResponse, decodeNatPmpMapResponse, encodeNatPmpMapRequest } from "../src/natpmp-codec.js";
import { decodePcpMapResponse, encodePcpMapRequest, isNatPmpVersionAnswer, type PcpMapRequest } from "../src/pcp-codec.js";
import { parseRouteTable, pcpScheduleMs } from "../src/udp-exchange.js";

const request: PcpMapRequest = {
  clientIp: "198.19.1.2",
  nonce: new Uint8Array(12).fill(7),
  protocol: "TCP",
  internalPort: 7337,
  externalPort: 7337,
  lifetimeSeconds: 3600,
};

/** A MAP response to `request` as a gateway would build it. */
function pcpAnswer(fields: { result: number; lifetime: number; epoch: number; port: number; ip: number[]; options?: Buffer }): Buffer {
  const out = encodePcpMapRequest(request);
  out.writeUInt8(0x81, 1);
  out.writeUInt8(fields.result, 3);
  out.writeUInt32BE(fields.lifetime, 4);
  out.writeUInt32BE(fields.epoch, 8);
  out.fill(0, 12, 24);
  out.writeUInt16BE(fields.port, 42);
  out.set(fields.ip, 56);
  return Buffer.concat([out, fields.options ?? Buffer.alloc(0)]);
}

describe("PCP codec", () => {
  it("encodes a 60-byte MAP request (RFC 6887 7.1, 11.1)", () => {
    const bytes = encodePcpMapRequest(request);
    expect(bytes).toHaveLength(60);
    expect([...bytes.subarray(0, 2)]).toEqual([2, 1]);
    expect([...bytes.subarray(18, 24)]).toEqual([0xff, 0xff, 198, 19, 1, 2]);
    expect(bytes[36]).toBe(6);
  });

  it("decodes any answer it built, field for field", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 0xffffffff }), fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 1, max: 65535 }), fc.array(fc.integer({ min: 1, max: 255 }), { minLength: 4, maxLength: 4 }), (lifetime, epoch, port, ip) => {
        expect(decodePcpMapResponse(pcpAnswer({ result: 0, lifetime, epoch, port, ip }), request)).toEqual({
          resultCode: 0, lifetimeSeconds: lifetime, epoch, internalPort: 7337, externalPort: port, externalIp: ip.join("."),
        });
      }),
    );
  });

  it("never throws on arbitrary bytes, and takes nothing without our nonce", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1200 }), (bytes) => {
        const decoded = decodePcpMapResponse(bytes, request);
        if (decoded !== undefined && bytes.length >= 60) expect([...bytes.subarray(24, 36)]).toEqual([...request.nonce]);
        if (decoded?.resultCode === 0) expect(decoded.externalPort).toBeGreaterThan(0);
      }),
      { numRuns: 2000 },
    );
  });

  it("refuses one changed byte in the nonce, protocol or internal port, and bad options", () => {
    const good = pcpAnswer({ result: 0, lifetime: 60, epoch: 1, port: 9, ip: [198, 18, 0, 11] });
    fc.assert(
      fc.property(fc.constantFrom(24, 30, 35, 36, 40, 41), fc.integer({ min: 1, max: 255 }), (offset, flip) => {
        const bad = Buffer.from(good);
        bad[offset] = (bad[offset] ?? 0) ^ flip;
        expect(decodePcpMapResponse(bad, request)).toBeUndefined();
      }),
    );
    // an option whose length runs past the end, and a non-multiple-of-4 size
    expect(decodePcpMapResponse(pcpAnswer({ result: 0, lifetime: 60, epoch: 1, port: 9, ip: [198, 18, 0, 11], options: Buffer.from([1, 0, 0, 40]) }), request)).toBeUndefined();
    expect(decodePcpMapResponse(Buffer.concat([good, Buffer.alloc(2)]), request)).toBeUndefined();
    // a success without an IPv4 external address, a port or a lifetime
    expect(decodePcpMapResponse(pcpAnswer({ result: 0, lifetime: 60, epoch: 1, port: 0, ip: [198, 18, 0, 11] }), request)).toBeUndefined();
    expect(decodePcpMapResponse(pcpAnswer({ result: 0, lifetime: 0, epoch: 1, port: 9, ip: [198, 18, 0, 11] }), request)).toBeUndefined();
    expect(decodePcpMapResponse(pcpAnswer({ result: 0, lifetime: 60, epoch: 1, port: 9, ip: [0, 0, 0, 0] }), request)).toBeUndefined();
    // a well-formed option is fine
    expect(decodePcpMapResponse(pcpAnswer({ result: 0, lifetime: 60, epoch: 1, port: 9, ip: [198, 18, 0, 11], options: Buffer.from([1, 0, 0, 4, 9, 9, 9, 9]) }), request)?.externalPort).toBe(9);
  });

  it("recognises a NAT-PMP gateway's 'unsupported version' answer (RFC 6887 9)", () => {
    expect(isNatPmpVersionAnswer(Buffer.from([0, 129, 0, 1, 0, 0, 0, 5]))).toBe(true);
    expect(isNatPmpVersionAnswer(Buffer.from([0, 129, 0, 0]))).toBe(false);
  });

  it("retransmits per RFC 6887 8.1.1: 3 s, doubling, within 10 %", () => {
    const s = pcpScheduleMs(() => 0.5);
    expect(s.slice(0, 4)).toEqual([0, 3000, 9000, 21000]);
    const low = pcpScheduleMs(() => 0);
    expect(low[1]).toBe(2700);
  });
});

describe("NAT-PMP codec", () => {
  it("encodes a 12-byte mapping request (RFC 6886 3.3)", () => {
    expect([...encodeNatPmpMapRequest("UDP", 7337, 7000, 7200)]).toEqual([0, 1, 0, 0, 0x1c, 0xa9, 0x1b, 0x58, 0, 0, 0x1c, 0x20]);
  });

  it("decodes mapping answers and refuses anything not exactly one", () => {
    const answer = Buffer.from([0, 130, 0, 0, 0, 0, 0, 9, 0x1c, 0xa9, 0x1b, 0x58, 0, 0, 0x1c, 0x20]);
    expect(decodeNatPmpMapResponse(answer, "TCP")).toEqual({ resultCode: 0, epoch: 9, internalPort: 7337, externalPort: 7000, lifetimeSeconds: 7200 });
    expect(decodeNatPmpMapResponse(answer, "UDP")).toBeUndefined();
    expect(decodeNatPmpMapResponse(Buffer.concat([answer, Buffer.alloc(4)]), "TCP")).toBeUndefined();
    expect(decodeNatPmpMapResponse(Buffer.from([0, 130, 0, 3, 0, 0, 0, 1]), "TCP")?.resultCode).toBe(3);
  });

  it("never throws on arbitrary bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const map = decodeNatPmpMapResponse(bytes, "TCP");
        if (map !== undefined) expect([...bytes.subarray(0, 2)]).toEqual([0, 130]);
        const address = decodeNatPmpAddressResponse(bytes);
        if (address?.externalIp !== undefined) expect(bytes).toHaveLength(12);
      }),
      { numRuns: 2000 },
    );
  });
});

describe("default gateway", () => {
  it("reads the lowest-metric default route from /proc/net/route", () => {
    const table = [
      "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT",
      "eth1\t00000000\t0202A8C0\t0003\t0\t0\t600\t00000000\t0\t0\t0",
      "eth0\t00000000\t010113C6\t0003\t0\t0\t100\t00000000\t0\t0\t0",
      "eth0\t000113C6\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0",
    ].join("\n");
    expect(parseRouteTable(table)).toBe("198.19.1.1");
    expect(parseRouteTable("Iface\n")).toBeUndefined();
    fc.assert(fc.property(fc.string({ maxLength: 400 }), (text) => void parseRouteTable(text)));
  });
});
