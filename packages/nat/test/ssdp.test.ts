import { describe, expect, it } from "vitest";
import { createSocket } from "node:dgram";
import { discoverGateway, parseSearchAnswer } from "../src/ssdp.js";
import { NAT_ERROR_CODES } from "../src/index.js";
import { startFakeGateway } from "./fixtures/fake-gateway.js";

const IGD2 = "urn:schemas-upnp-org:device:InternetGatewayDevice:2";
const answer = (st: string, location: string): Buffer =>
  Buffer.from(`HTTP/1.1 200 OK\r\nST: ${st}\r\nUSN: uuid:x::${st}\r\nLOCATION: ${location}\r\n\r\n`);

describe("parseSearchAnswer", () => {
  it("accepts an IGD answer whose LOCATION is on the answering address", () => {
    const a = parseSearchAnswer(answer(IGD2, "http://192.0.2.1:5000/rootDesc.xml"), "192.0.2.1");
    expect(a?.location.href).toBe("http://192.0.2.1:5000/rootDesc.xml");
    expect(a?.st).toBe(IGD2);
  });

  it("rejects other targets, other hosts, https, junk and notifications", () => {
    expect(parseSearchAnswer(answer("upnp:rootdevice", "http://192.0.2.1/d.xml"), "192.0.2.1")).toBeUndefined();
    expect(parseSearchAnswer(answer(IGD2, "http://203.0.113.9/d.xml"), "192.0.2.1")).toBeUndefined();
    expect(parseSearchAnswer(answer(IGD2, "https://192.0.2.1/d.xml"), "192.0.2.1")).toBeUndefined();
    expect(parseSearchAnswer(answer(IGD2, "not a url"), "192.0.2.1")).toBeUndefined();
    expect(parseSearchAnswer(Buffer.from("NOTIFY * HTTP/1.1\r\nST: x\r\n\r\n"), "192.0.2.1")).toBeUndefined();
    expect(parseSearchAnswer(Buffer.alloc(70000, 0x41), "192.0.2.1")).toBeUndefined();
  });
});

describe("discoverGateway (unicast M-SEARCH on loopback)", () => {
  it("finds a gateway that answers", async () => {
    const gw = await startFakeGateway({ version: 2 });
    try {
      const port = await gw.startSsdp();
      const found = await discoverGateway({ signal: AbortSignal.timeout(2000), target: { address: "127.0.0.1", port } });
      expect(found.location.href).toBe(gw.url);
      expect(found.address).toBe("127.0.0.1");
    } finally {
      await gw.close();
    }
  });

  it("fails with NO_GATEWAY when the signal fires and nobody answered, closing its socket", async () => {
    const silent = createSocket("udp4"); // receives the searches, never answers
    let searches = 0;
    silent.on("message", () => searches++);
    await new Promise<void>((r) => silent.bind(0, "127.0.0.1", r));
    const { port } = silent.address();
    try {
      const udpBefore = process.getActiveResourcesInfo().filter((h) => h === "UDPWrap").length;
      const t0 = performance.now();
      await expect(discoverGateway({ signal: AbortSignal.timeout(300), target: { address: "127.0.0.1", port } })).rejects.toMatchObject({
        code: NAT_ERROR_CODES.NO_GATEWAY,
      });
      expect(performance.now() - t0).toBeLessThan(2500);
      expect(searches).toBeGreaterThanOrEqual(2); // IGDv2 and IGDv1 search targets
      await expect.poll(() => process.getActiveResourcesInfo().filter((h) => h === "UDPWrap").length).toBeLessThan(udpBefore);
    } finally {
      silent.close();
    }
  });

  it("fails at once when the signal has already fired", async () => {
    await expect(discoverGateway({ signal: AbortSignal.abort(), target: { address: "127.0.0.1", port: 9 } })).rejects.toMatchObject({
      code: NAT_ERROR_CODES.NO_GATEWAY,
    });
  });
});
