import { afterEach, describe, expect, it } from "vitest";
import { createUpnpPortMapper, upnpPortMapper, type NatResult, type PortMapper } from "../src/index.js";
import { renewDelayMs, retryDelayMs } from "../src/upnp-mapping.js";
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
    const fixed: PortMapper = {
      map: async (o): Promise<NatResult> => ({
        mapped: true, method: null, externalIp: "198.51.100.9", externalPort: o.externalPort ?? o.internalPort,
        internalPort: o.internalPort, internalIp: null, protocol: o.protocol ?? "TCP", leaseSeconds: 0, remove: async () => {},
      }),
    };
    await expect(fixed.map({ internalPort: 7337 })).resolves.toMatchObject({ externalPort: 7337 });
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
