import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
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
  vi.useRealTimers();
  await Promise.all(gateways.splice(0).map((g) => g.close()));
});

/**
 * Lease renewal runs on `setTimeout`: the renewal tests fake that clock (and
 * only that one; sockets and `AbortSignal.timeout` stay real) and step it, so
 * they neither wait out leases nor sleep to show that nothing else happens.
 */
function fakeRenewalClock(): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout"] });
}

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
    expect(nat.error?.details).toMatchObject({ upnpErrorCode: 718, httpStatus: 500 });
    expect(gw.calls.filter((c) => c.action === "AddPortMapping")).toHaveLength(1); // no pointless permanent retry
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
    fakeRenewalClock();
    const nat = await tryUpnpMap({ internalPort: 40006, leaseSeconds: 2, gatewayUrl: gw.url, onRenewed: (r) => renewals.push(r.leaseSeconds) });
    expect(nat.mapped).toBe(true);
    expect(vi.getTimerCount()).toBe(1); // the renewal, due at half the lease
    await vi.advanceTimersByTimeAsync(999);
    expect(gw.calls.filter((c) => c.action === "AddPortMapping")).toHaveLength(1); // not due yet
    for (const n of [1, 2]) {
      await vi.advanceTimersByTimeAsync(n === 1 ? 1 : 1000);
      await gw.waitFor("AddPortMapping", n + 1);
      await expect.poll(() => renewals.length).toBe(n);
    }
    expect(gw.descriptionFetches).toBe(1); // calls and renewals use the control URL read once
    expect(renewals).toEqual([2, 2]);
    await nat.remove();
    expect(vi.getTimerCount()).toBe(0); // renewal stopped: nothing is scheduled any more
  });

  it("reports failed renewals through onError and keeps retrying", async () => {
    let adds = 0;
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" && ++adds > 1 ? { upnpErrorCode: 501 } : undefined) });
    const errors: NatError[] = [];
    fakeRenewalClock();
    const nat = await tryUpnpMap({ internalPort: 40007, leaseSeconds: 2, gatewayUrl: gw.url, onError: (e) => errors.push(e) });
    expect(nat.mapped).toBe(true);
    for (const n of [1, 2]) {
      // the renewal at half the lease (1 s), then a retry at a quarter of it (at least 1 s)
      await vi.advanceTimersByTimeAsync(1000);
      await expect.poll(() => errors.length).toBe(n);
    }
    expect(gw.calls.filter((c) => c.action === "AddPortMapping")).toHaveLength(3);
    expect(errors[0]?.code).toBe(NAT_ERROR_CODES.RENEWAL_FAILED);
    await nat.remove();
  });

  it("does not renew when renew is false, or when the lease is permanent", async () => {
    const gw = await gateway({ version });
    fakeRenewalClock();
    const a = await tryUpnpMap({ internalPort: 40008, leaseSeconds: 1, renew: false, gatewayUrl: gw.url });
    const b = await tryUpnpMap({ internalPort: 40009, leaseSeconds: 0, gatewayUrl: gw.url });
    expect([a.leaseSeconds, b.leaseSeconds]).toEqual([1, 0]);
    expect(vi.getTimerCount()).toBe(0); // no renewal is scheduled, now or ever
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

describe("AbortSignal and Symbol.asyncDispose", () => {
  it("an already aborted signal rejects with XPPG_ERR_ABORTED and sends nothing", async () => {
    const gw = await gateway({ version: 2 });
    const reason = new Error("shutting down");
    const err = await tryUpnpMap({ internalPort: 40040, gatewayUrl: gw.url, signal: AbortSignal.abort(reason) }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: NAT_ERROR_CODES.ABORTED, cause: reason });
    expect(gw.calls).toEqual([]);
    expect(gw.descriptionFetches).toBe(0);
  });

  it("aborting while AddPortMapping is in flight rejects at once and deletes the mapping that lands late", async () => {
    const gw = await gateway({ version: 2, answer: (c) => (c.action === "AddPortMapping" ? { delayMs: 300 } : undefined) });
    const controller = new AbortController();
    const attempt = tryUpnpMap({ internalPort: 40041, gatewayUrl: gw.url, signal: controller.signal, timeoutMs: 10_000 });
    await gw.waitFor("AddPortMapping");
    controller.abort();
    await expect(attempt).rejects.toMatchObject({ code: NAT_ERROR_CODES.ABORTED });
    expect((await gw.waitFor("DeletePortMapping")).args).toMatchObject({ NewExternalPort: "40041", NewProtocol: "TCP" });
    await expect.poll(() => gw.mappings.size).toBe(0);
  });

  it("a signal that never fires changes nothing", async () => {
    const gw = await gateway({ version: 1 });
    const nat = await tryUpnpMap({ internalPort: 40042, gatewayUrl: gw.url, signal: new AbortController().signal });
    expect(nat.mapped).toBe(true);
    await nat.remove();
  });

  it("await using removes the mapping at the end of the scope, mapped or not", async () => {
    const gw = await gateway({ version: 2 });
    {
      await using nat = await tryUpnpMap({ internalPort: 40043, gatewayUrl: gw.url });
      expect(nat.mapped).toBe(true);
      expect(gw.mappings.size).toBe(1);
    }
    expect(gw.mappings.size).toBe(0);
    expect(gw.calls.filter((c) => c.action === "DeletePortMapping")).toHaveLength(1);
    const port = await closedPort();
    {
      await using nat = await tryUpnpMap({ internalPort: 40044, gatewayUrl: `http://127.0.0.1:${port}/rootDesc.xml` });
      // `mapped` narrows the result: `error` needs no `?.` here, and `method` is null.
      if (nat.mapped) throw new Error("nothing listens there; it cannot be mapped");
      expect(nat.error.code).toBe(NAT_ERROR_CODES.NO_GATEWAY);
      expect(nat.method).toBeNull();
    }
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

  it.each([1, 2] as const)("returns TIMEOUT when an IGDv%i gateway never answers AddPortMapping, and undoes it afterwards", async (version) => {
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { hang: true } : undefined) });
    const before = liveHandles();
    const nat = await tryUpnpMap({ internalPort: 40022, timeoutMs: 300, mappingCallTimeoutMs: 600, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.TIMEOUT);
    // after the hard limit on the abandoned call (mappingCallTimeoutMs), a best-effort delete goes out
    await gw.waitFor("DeletePortMapping", 1, 5000);
    await expect.poll(() => newHandles(before), { timeout: 3000 }).toEqual([]);
  });

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

// Everything a gateway sends passes one client with the same limits, IGDv1 and
// IGDv2 alike: nothing it answers may crash the process or keep it alive.
describe.each([1, 2] as const)("a hostile IGDv%i gateway", (version) => {
  const crashes: unknown[] = [];
  const onCrash = (err: unknown): void => {
    crashes.push(err);
  };
  beforeEach(() => {
    crashes.length = 0;
    process.on("uncaughtException", onCrash);
    process.on("unhandledRejection", onCrash);
  });
  afterEach(() => {
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    expect(crashes).toEqual([]);
  });

  it.each([
    ["text that is not XML", "not xml at all"],
    ["an unfinished envelope", '<?xml version="1.0"?><s:Envelope><s:Body><u:AddPortMappingResponse'],
    ["XML without a SOAP body", '<?xml version="1.0"?><a/>'],
    ["an empty body", ""],
  ])("answers HTTP 200 with %s: a coded error, the mapping undone, no handle left", async (_what, rawBody) => {
    const gw = await gateway({ version, answer: (c) => (c.action === "DeletePortMapping" ? undefined : { rawBody }) });
    const before = liveHandles();
    const nat = await tryUpnpMap({ internalPort: 40030, gatewayUrl: gw.url });
    expect(nat).toMatchObject({ mapped: false, externalIp: null });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.MAPPING_REFUSED);
    expect(nat.error?.message).toMatch(/HTTP 200 without a AddPortMappingResponse element/);
    // the gateway may have mapped the port: it is told to delete it
    expect((await gw.waitFor("DeletePortMapping")).args).toMatchObject({ NewExternalPort: "40030", NewProtocol: "TCP" });
    await expect.poll(() => newHandles(before), { timeout: 3000 }).toEqual([]);
  });

  it("answers a renewal with malformed XML: onError gets RENEWAL_FAILED and the mapping stays removable", async () => {
    let adds = 0;
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" && ++adds > 1 ? { rawBody: "<s:Envelope><oops" } : undefined) });
    const errors: NatError[] = [];
    fakeRenewalClock();
    const nat = await tryUpnpMap({ internalPort: 40031, leaseSeconds: 2, gatewayUrl: gw.url, onError: (e) => errors.push(e) });
    expect(nat.mapped).toBe(true);
    await vi.advanceTimersByTimeAsync(1000); // the renewal is due at half the lease
    await expect.poll(() => errors.length).toBe(1);
    expect(errors[0]?.code).toBe(NAT_ERROR_CODES.RENEWAL_FAILED);
    await nat.remove();
    expect(gw.mappings.size).toBe(0);
  });

  it("sends an endless answer: it is cut at the size limit with a coded error", async () => {
    const total = 32 * 1024 * 1024;
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { streamBytes: total } : undefined) });
    const before = liveHandles();
    const nat = await tryUpnpMap({ internalPort: 40032, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.MAPPING_REFUSED);
    expect(nat.error?.message).toMatch(/65536-byte limit/);
    await gw.waitFor("DeletePortMapping");
    expect(gw.streamedBytes).toBeLessThan(total); // we hung up long before the end
    await expect.poll(() => newHandles(before), { timeout: 3000 }).toEqual([]);
  });

  it("declares a 200 MB answer: refused from the header, before a byte of it is read", async () => {
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { declaredBytes: 200_000_000 } : undefined) });
    const before = liveHandles();
    const t0 = performance.now();
    const nat = await tryUpnpMap({ internalPort: 40033, gatewayUrl: gw.url });
    expect(performance.now() - t0).toBeLessThan(2000); // no waiting for the body that never comes
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.MAPPING_REFUSED);
    expect(nat.error?.message).toMatch(/200000000 bytes exceeds the 65536-byte limit/);
    await gw.waitFor("DeletePortMapping");
    await expect.poll(() => newHandles(before), { timeout: 3000 }).toEqual([]);
  });

  it("answers a bare HTTP 500 (no UPnP code): a refusal, and no permanent-lease retry", async () => {
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { bare500: true } : undefined) });
    const nat = await tryUpnpMap({ internalPort: 40034, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.MAPPING_REFUSED);
    expect(nat.error?.details).toMatchObject({ httpStatus: 500 });
    expect(nat.error?.details).not.toHaveProperty("upnpErrorCode");
    expect(gw.calls.filter((c) => c.action === "AddPortMapping")).toHaveLength(1);
  });

  it("puts terminal controls and a huge text in its fault: the error message gets neither", async () => {
    const errorDescription = "&#27;]0;pwned&#7;\u001b[2J\u009b31m\r\nfake banner " + "A".repeat(10_000);
    const gw = await gateway({ version, answer: (c) => (c.action === "AddPortMapping" ? { upnpErrorCode: 718, errorDescription } : undefined) });
    const nat = await tryUpnpMap({ internalPort: 40036, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.MAPPING_REFUSED);
    expect(nat.error?.details).toMatchObject({ upnpErrorCode: 718 });
    const message = nat.error?.message ?? "";
    expect(message).toMatch(/UPnP error 718 \(&#27;\]0;pwned&#7; \[2J 31m fake banner A+…\)/);
    expect(message).not.toMatch(/[\u0000-\u001f\u007f-\u009f]/); // eslint-disable-line no-control-regex
    expect(message.length).toBeLessThan(500);
  });

  it("names a control URL on another host: UNSUPPORTED_GATEWAY, and no call goes there", async () => {
    const elsewhere = await gateway({ version });
    const gw = await gateway({ version, controlUrl: new URL("/ctl/IPConn", elsewhere.url).href });
    const nat = await tryUpnpMap({ internalPort: 40035, gatewayUrl: gw.url });
    expect(nat.error?.code).toBe(NAT_ERROR_CODES.UNSUPPORTED_GATEWAY);
    expect(elsewhere.calls).toEqual([]);
    expect(gw.calls).toEqual([]);
  });
});
