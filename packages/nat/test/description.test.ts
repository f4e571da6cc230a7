import { describe, expect, it } from "vitest";
import { chooseService, parseServices } from "../src/description.js";

const svc = (type: string, control: string, scpd = "/scpd.xml"): string =>
  `<service><serviceType>${type}</serviceType><serviceId>x</serviceId><SCPDURL>${scpd}</SCPDURL><controlURL>${control}</controlURL></service>`;
const root = (body: string, urlBase = ""): string =>
  `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0">${urlBase}<device><serviceList>${body}</serviceList></device></root>`;
const LOC = new URL("http://192.0.2.1:5000/rootDesc.xml");
const V1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
const V2 = "urn:schemas-upnp-org:service:WANIPConnection:2";
const PPP = "urn:schemas-upnp-org:service:WANPPPConnection:1";

describe("parseServices", () => {
  it("resolves control URLs against the description URL or URLBase", () => {
    expect(parseServices(root(svc(V1, "/ctl/IPConn")), LOC)[0]?.controlUrl.href).toBe("http://192.0.2.1:5000/ctl/IPConn");
    const based = parseServices(root(svc(V1, "ctl/IPConn"), "<URLBase>http://192.0.2.1:5000/upnp/</URLBase>"), LOC);
    expect(based[0]?.controlUrl.href).toBe("http://192.0.2.1:5000/upnp/ctl/IPConn");
  });

  it("drops control URLs that leave the gateway's host and port", () => {
    expect(parseServices(root(svc(V1, "http://203.0.113.5/ctl")), LOC)).toEqual([]);
    expect(parseServices(root(svc(V1, "http://192.0.2.1:80/ctl")), LOC)).toEqual([]);
  });

  it("ignores comments and decodes entities", () => {
    const xml = root(`<!-- ${svc(V2, "/evil")} -->` + svc(V1, "/ctl?a=1&amp;b=2"));
    const list = parseServices(xml, LOC);
    expect(list.map((s) => s.serviceType)).toEqual([V1]);
    expect(list[0]?.controlUrl.search).toBe("?a=1&b=2");
  });
});

describe("chooseService", () => {
  it("prefers WANIPConnection:2, then WANIPConnection:1, then WANPPPConnection:1", () => {
    const list = parseServices(root(svc(PPP, "/p") + svc(V1, "/v1") + svc(V2, "/v2")), LOC);
    expect(chooseService(list)?.method).toBe("upnp-igd2");
    expect(chooseService(list.filter((s) => s.serviceType !== V2))?.service.serviceType).toBe(V1);
    expect(chooseService(list.filter((s) => s.serviceType === PPP))?.method).toBe("upnp-igd1");
    expect(chooseService([])).toBeUndefined();
  });
});
