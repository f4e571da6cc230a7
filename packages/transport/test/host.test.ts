import { describe, expect, it } from "vitest";
import { hostFromIp } from "../src/adapter/index.js";

describe("hostFromIp", () => {
  it("keeps IPv4 and IPv6 as they are, lowercase and without brackets", () => {
    expect(hostFromIp("192.0.2.7")).toBe("192.0.2.7");
    expect(hostFromIp("2001:DB8::7")).toBe("2001:db8::7");
    expect(hostFromIp("::1")).toBe("::1");
  });

  it("reads an IPv4-mapped IPv6 address as the IPv4 address", () => {
    expect(hostFromIp("::ffff:192.0.2.7")).toBe("192.0.2.7");
    expect(hostFromIp("::FFFF:10.0.0.1")).toBe("10.0.0.1");
    // Not mapped: the hex form stays IPv6.
    expect(hostFromIp("::ffff:c000:207")).toBe("::ffff:c000:207");
  });
});
