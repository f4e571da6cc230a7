import { afterEach, describe, expect, it } from "vitest";
import { createServer } from "node:net";
import type { AddressInfo } from "node:net";
import { NAT_ERROR_CODES, tryUpnpMap, type NatError } from "../src/index.js";
import { startFakeGateway, type FakeGateway, type FakeGatewayOptions } from "./fixtures/fake-gateway.js";

// Every test talks to a real HTTP/SOAP gateway on 127.0.0.1 through `gatewayUrl`:
// no SSDP multicast ever leaves this machine from the unit tests.
const gateways: FakeGateway[] = [];
async function gateway(options: FakeGatewayOptions): Promise<FakeGateway> {
  const gw = await startFakeGateway(options);
  gateways.push(gw);
  return gw;
}
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

/** Handles that keep the event loop alive (timers, sockets), by kind. */
function liveHandles(): string[] {
  return process.getActiveResourcesInfo().filter((r) => r !== "TTYWrap" && r !== "FSReqCallback").sort();
}

/** Kinds of handle that are live now but were not in `before` (earlier tests may still be closing theirs). */
function newHandles(before: string[]): string[] {
  const left = [...before];
  return liveHandles().filter((h) => {
    const i = left.indexOf(h);
    if (i === -1) return true;
    left.splice(i, 1);
    return false;
  });
}

async function closedPort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const { port } = srv.address() as AddressInfo;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

describe.each([
  { version: 1 as const, method: "upnp-igd1" },
  { version: 2 as const, method: "upnp-igd2" },
])("against an IGDv$version gateway on loopback", ({ version, method }) => {
  it("maps, reports the external address, and remove() deletes once however often it is called", async () => {
    const gw = await gateway({ version });
    const nat = await tryUpnpMap({ internalPort: 40001, externalPort: 40011, gatewayUrl: gw.url, description: "a <b> & c" });
    expect(nat.error).toBeUndefined();
    expect(nat).toMatchObject({ mapped: true, method, externalIp: "198.51.100.7", externalPort: 40011, internalPort: 40001, internalIp: "127.0.0.1", protocol: "TCP", leaseSeconds: 3600 });
    const add = gw.calls.find((c) => c.action === "AddPortMapping");
    expect(add?.args).toMatchObject({ NewExternalPort: "40011", NewInternalPort: "40001", NewInternalClient: "127.0.0.1", NewProtocol: "TCP", NewLeaseDuration: "3600", NewPortMappingDescription: "a &lt;b&gt; &amp; c" });
    expect(gw.mappings.size).toBe(1);
    await Promise.all([nat.remove(), nat.remove()]);
    await nat.remove();
    expect(gw.calls.filter((c) => c.action === "DeletePortMapping")).toHaveLength(1);
    expect(gw.mappings.size).toBe(0);
  });

  it("maps UDP with the external port defaulting to the internal one", async () => {
    const gw = await gateway({ version });
    const nat = await tryUpnpMap({ internalPort: 40002, protocol: "UDP", leaseSeconds: 120, gatewayUrl: gw.url });
    expect(nat).toMatchObject({ mapped: true, externalPort: 40002, protocol: "UDP", leaseSeconds: 120 });
    expect(gw.mappings.has("UDP/40002")).toBe(true);
    await nat.remove();
  });

  it("falls back to a permanent lease when the gateway only accepts those (725), and remove() deletes it", async () => {
    const gw = await gateway({
      version,
      answer: (c) => (c.action === "AddPortMapping" && c.args["NewLeaseDuration"] !== "0" ? { upnpErrorCode: 725 } : undefined),
    });
    const nat = await tryUpnpMap({ internalPort: 40003, gatewayUrl: gw.url });
    expect(nat).toMatchObject({ mapped: true, leaseSeconds: 0 });
    expect(gw.calls.filter((c) => c.action === "AddPortMapping").map((c) => c.args["NewLeaseDuration"])).toEqual(["3600", "0"]);
    await nat.remove();
    expect(gw.mappings.size).toBe(0);
  });

  it("reports a refusal with a typed error and does not retry a fault that is not 725", async () => {
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { upnpErrorCode: 718 } : undefined) });
    const nat = await tryUpnpMap({ internalPort: 40004, gatewayUrl: gw.url });
    expect(nat.mapped).toBe(false);
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.MAPPING_REFUSED);
    const adds = gw.calls.filter((c) => c.action === "AddPortMapping").length;
    if (version === 2) {
      // our own SOAP client reads the UPnP code: no pointless permanent retry
      expect(nat.error?.details).toMatchObject({ upnpErrorCode: 718, httpStatus: 500 });
      expect(adds).toBe(1);
    } else {
      // nat-upnp only says "Request failed: 500": one permanent-lease try, refused too
      expect(nat.error?.details).toMatchObject({ httpStatus: 500 });
      expect(adds).toBe(2);
    }
    await nat.remove(); // a no-op on an unmapped result
    expect(gw.calls.some((c) => c.action === "DeletePortMapping")).toBe(false);
  });

  it("gives up at timeoutMs with XPPG_ERR_NAT_TIMEOUT and deletes the mapping that lands late", async () => {
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { delayMs: 900 } : undefined) });
    const t0 = performance.now();
    const nat = await tryUpnpMap({ internalPort: 40005, gatewayUrl: gw.url, timeoutMs: 400 });
    expect(performance.now() - t0).toBeLessThan(3000); // "does not hang", not a benchmark
    expect(nat.mapped).toBe(false);
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.TIMEOUT);
    const del = await gw.waitFor("DeletePortMapping");
    expect(del.args).toMatchObject({ NewExternalPort: "40005", NewProtocol: "TCP" });
    await expect.poll(() => gw.mappings.size).toBe(0);
  });

  it("renews a short lease before it expires and reports each renewal", async () => {
    const gw = await gateway({ version });
    const renewals: number[] = [];
    const nat = await tryUpnpMap({ internalPort: 40006, leaseSeconds: 2, gatewayUrl: gw.url, onRenewed: (r) => renewals.push(r.leaseSeconds) });
    expect(nat.mapped).toBe(true);
    await gw.waitFor("AddPortMapping", 3, 6000); // the first add plus two renewals, 1 s apart
    expect(renewals.length).toBeGreaterThanOrEqual(1);
    expect(renewals.every((l) => l === 2)).toBe(true);
    await nat.remove();
    const adds = gw.calls.filter((c) => c.action === "AddPortMapping").length;
    await new Promise((r) => setTimeout(r, 1300));
    expect(gw.calls.filter((c) => c.action === "AddPortMapping").length).toBe(adds); // renewal stopped
  });

  it("reports failed renewals through onError and keeps retrying", async () => {
    let adds = 0;
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" && ++adds > 1 ? { upnpErrorCode: 501 } : undefined) });
    const errors: NatError[] = [];
    const nat = await tryUpnpMap({ internalPort: 40007, leaseSeconds: 2, gatewayUrl: gw.url, onError: (e) => errors.push(e) });
    expect(nat.mapped).toBe(true);
    await gw.waitFor("AddPortMapping", 3, 6000);
    await expect.poll(() => errors.length).toBeGreaterThanOrEqual(2);
    expect(errors[0]?.code).toBe(NAT_ERROR_CODES.RENEWAL_FAILED);
    await nat.remove();
  });

  it("does not renew when renew is false, or when the lease is permanent", async () => {
    const gw = await gateway({ version });
    const a = await tryUpnpMap({ internalPort: 40008, leaseSeconds: 1, renew: false, gatewayUrl: gw.url });
    const b = await tryUpnpMap({ internalPort: 40009, leaseSeconds: 0, gatewayUrl: gw.url });
    expect([a.leaseSeconds, b.leaseSeconds]).toEqual([1, 0]);
    await new Promise((r) => setTimeout(r, 1200));
    expect(gw.calls.filter((c) => c.action === "AddPortMapping")).toHaveLength(2);
    await Promise.all([a.remove(), b.remove()]);
  });

  it("reports a failed removal through onError, never by rejecting", async () => {
    const gw = await gateway({ version, answer: (c) => (c.action === "DeletePortMapping" ? { upnpErrorCode: 606 } : undefined) });
    const errors: NatError[] = [];
    const nat = await tryUpnpMap({ internalPort: 40010, gatewayUrl: gw.url, onError: (e) => errors.push(e) });
    await expect(nat.remove()).resolves.toBeUndefined();
    expect(errors.map((e) => e.code)).toEqual([NAT_ERROR_CODES.REMOVE_FAILED]);
  });

  it("says UNSUPPORTED_GATEWAY for a device without a WAN connection service", async () => {
    const gw = await gateway({ version, noWanService: true });
    const nat = await tryUpnpMap({ internalPort: 40012, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.UNSUPPORTED_GATEWAY);
    expect(gw.calls).toHaveLength(0);
  });
});

describe("without a working gateway", () => {
  it("returns NO_GATEWAY at once when nothing listens at the gateway URL, and leaves no handle behind", async () => {
    const before = liveHandles();
    const port = await closedPort();
    const t0 = performance.now();
    const nat = await tryUpnpMap({ internalPort: 40020, gatewayUrl: `http://127.0.0.1:${port}/rootDesc.xml` });
    expect(performance.now() - t0).toBeLessThan(2500);
    expect(nat).toMatchObject({ mapped: false, method: null, externalIp: null, internalIp: null, leaseSeconds: 0 });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.NO_GATEWAY);
    expect(nat.error?.message).toMatch(/description/);
    // a refused socket is released on the next turns of the loop
    await expect.poll(() => newHandles(before), { timeout: 1000 }).toEqual([]);
  });

  it("returns NO_GATEWAY at timeoutMs when the gateway never answers its description", async () => {
    const held = new Set<import("node:net").Socket>();
    const srv = createServer((s) => held.add(s)); // accepts, never answers
    await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
    const { port } = srv.address() as AddressInfo;
    try {
      const t0 = performance.now();
      const nat = await tryUpnpMap({ internalPort: 40021, timeoutMs: 300, gatewayUrl: `http://127.0.0.1:${port}/rootDesc.xml` });
      expect(performance.now() - t0).toBeLessThan(2500);
      expect(nat.error?.code).toBe(NAT_ERROR_CODES.NO_GATEWAY);
      expect(nat.error?.details).toMatchObject({ timeoutMs: 300 });
    } finally {
      for (const s of held) s.destroy();
      await new Promise((r) => srv.close(r));
    }
  });

  it("returns TIMEOUT when a found gateway never answers AddPortMapping, and undoes it afterwards", async () => {
    const gw = await gateway({ version: 2, answer: (c) => (c.action === "AddPortMapping" ? { hang: true } : undefined) });
    const before = liveHandles();
    const nat = await tryUpnpMap({ internalPort: 40022, timeoutMs: 300, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.TIMEOUT);
    // after the 5 s hard limit on the abandoned call, a best-effort delete goes out
    await gw.waitFor("DeletePortMapping", 1, 9000);
    await expect.poll(() => newHandles(before), { timeout: 3000 }).toEqual([]);
  }, 15_000);

  it("never rejects for gateway trouble, but rejects invalid options with INVALID_OPTIONS", async () => {
    for (const bad of [
      { internalPort: 0 },
      { internalPort: 70000 },
      { internalPort: 1.5 },
      { internalPort: 80, externalPort: -1 },
      { internalPort: 80, protocol: "SCTP" as "TCP" },
      { internalPort: 80, leaseSeconds: -5 },
      { internalPort: 80, timeoutMs: 0 },
      { internalPort: 80, gatewayUrl: "https://192.0.2.1/desc.xml" },
    ]) {
      await expect(tryUpnpMap(bad), JSON.stringify(bad)).rejects.toMatchObject({ code: NAT_ERROR_CODES.INVALID_OPTIONS });
    }
  });
});
