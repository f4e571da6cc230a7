import { afterEach, describe, expect, it } from "vitest";
import { NAT_ERROR_CODES, NatError, createUpnpPortMapper, upnpPortMapper, type NatResult, type PortMapper } from "../src/index.js";
import { renewDelayMs, retryDelayMs } from "../src/lease-mapping.js";
import { startFakeGateway, type FakeGateway } from "./fixtures/fake-gateway.js";

let gw: FakeGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

describe("PortMapper", () => {
  it("the default mapper and a configured one map through UPnP", async () => {
    gw = await startFakeGateway({ version: 2 });
    const mapper = createUpnpPortMapper({ gatewayUrl: gw.url, leaseSeconds: 600, description: "from defaults" });
    const nat = await mapper.map({ internalPort: 40100 });
    expect(nat).toMatchObject({ mapped: true, leaseSeconds: 600 });
    expect(gw.calls.find((c) => c.action === "AddPortMapping")?.args["NewPortMappingDescription"]).toBe("from defaults");
    await nat.remove();
    const direct = await upnpPortMapper.map({ internalPort: 40101, gatewayUrl: gw.url });
    expect(direct.mapped).toBe(true);
    await direct.remove();
  });

  it("is a small interface a custom strategy can implement", async () => {
    // A strategy that never maps (say, a policy that forbids UPnP) still answers in the same shape.
    const never: PortMapper = {
      map: async (o): Promise<NatResult> => {
        const remove = async (): Promise<void> => {};
        return {
          mapped: false, method: null, externalIp: null, externalPort: o.externalPort ?? o.internalPort, internalPort: o.internalPort,
          internalIp: null, protocol: o.protocol ?? "TCP", leaseSeconds: 0, remove, [Symbol.asyncDispose]: remove,
          error: new NatError(NAT_ERROR_CODES.NO_GATEWAY, "Port mapping is switched off here; forward the port by hand."),
        };
      },
    };
    const nat = await never.map({ internalPort: 7337 });
    expect(nat).toMatchObject({ mapped: false, externalPort: 7337 });
    // `mapped` narrows the union: `error` is there without a `?.`.
    if (!nat.mapped) expect(nat.error.code).toBe(NAT_ERROR_CODES.NO_GATEWAY);
  });
});

describe("renewal timing", () => {
  it("renews at half the lease, retries at a quarter, within sane bounds", () => {
    expect(renewDelayMs(3600)).toBe(1_800_000);
    expect(renewDelayMs(1)).toBe(1000);
    expect(retryDelayMs(3600)).toBe(60_000);
    expect(retryDelayMs(2)).toBe(1000);
  });
});
