// What a gateway sends (SSDP answers, device descriptions, SOAP answers) fed
// arbitrary and mutated-valid input (fast-check): each reader returns a value
// within its limits or nothing, and never throws.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { MAX_DESCRIPTION_BYTES } from "../src/constants.js";
import { fetchServices, parseServices } from "../src/description.js";
import { parseSearchAnswer } from "../src/ssdp.js";
import { decodeEntities, elementsByLocalName, firstText, flatChildren, stripXmlNoise } from "../src/xml.js";

const LOC = new URL("http://192.0.2.1:5000/rootDesc.xml");
const V1 = "urn:schemas-upnp-org:service:WANIPConnection:1";
const description =
  `<?xml version="1.0"?><root xmlns="urn:schemas-upnp-org:device-1-0"><URLBase>http://192.0.2.1:5000/</URLBase><device><serviceList>` +
  `<service><serviceType>${V1}</serviceType><controlURL>/ctl/IPConn</controlURL></service>` +
  `<s:service><s:serviceType>${V1}</s:serviceType><s:controlURL>ctl?a=1&amp;b=&#x32;</s:controlURL></s:service>` +
  `</serviceList></device></root>`;
const soap =
  `<s:Envelope><s:Body><u:GetExternalIPAddressResponse xmlns:u="${V1}"><NewExternalIPAddress>198.51.100.7</NewExternalIPAddress><Empty/></u:GetExternalIPAddressResponse>` +
  `<s:Fault><detail><UPnPError><errorCode>725</errorCode><errorDescription>x</errorDescription></UPnPError></detail></s:Fault></s:Body></s:Envelope>`;

/** Pieces that matter to the scanner: tags, comments, CDATA, entities, prefixes, URLs. */
const piece = fc.oneof(
  fc.constantFrom("<", ">", "/>", "</", "<!--", "-->", "<![CDATA[", "]]>", "&", ";", "&#x", "&#", "&#xD800;", "&#1114112;", ":", " ", "\r\n", '"', "<service>", "</service>", "<controlURL>", "</controlURL>", "http://", "//203.0.113.5", "@", "%", "\u0000", "\uD800"),
  fc.string({ maxLength: 12 }),
);

/** A valid document with pieces inserted, a range removed, or cut short. */
function mutatedText(valid: string): fc.Arbitrary<string> {
  return fc.oneof(
    fc.array(fc.tuple(fc.nat({ max: valid.length }), piece), { minLength: 1, maxLength: 6 }).map((edits) => {
      let text = valid;
      for (const [at, p] of edits) text = text.slice(0, Math.min(at, text.length)) + p + text.slice(Math.min(at, text.length));
      return text;
    }),
    fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 40 })).map(([at, n]) => valid.slice(0, at) + valid.slice(at + n)),
    fc.nat({ max: valid.length }).map((n) => valid.slice(0, n)),
  );
}

const anyText = fc.oneof(fc.string({ maxLength: 200 }), fc.string({ unit: "binary", maxLength: 100 }), fc.array(piece, { maxLength: 30 }).map((p) => p.join("")));
const RUNS = { numRuns: 1500 };

describe("device descriptions", () => {
  it("list at most 64 services, each with an http control URL on the description's own host and port, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mutatedText(description)), (xml) => {
        const services = parseServices(xml, LOC);
        expect(services.length).toBeLessThanOrEqual(64);
        for (const s of services) {
          expect(s.controlUrl.protocol).toBe("http:");
          expect(s.controlUrl.host).toBe(LOC.host);
          expect(typeof s.serviceType).toBe("string");
        }
      }),
      RUNS,
    );
  });
});

describe("the XML scanner on SOAP answers", () => {
  it("reads at most its limits of elements and children, whatever the text", () => {
    fc.assert(
      fc.property(fc.oneof(anyText, mutatedText(soap)), fc.integer({ min: 1, max: 8 }), (xml, limit) => {
        const clean = stripXmlNoise(xml);
        expect(clean.length).toBeLessThanOrEqual(xml.length);
        expect(elementsByLocalName(clean, "GetExternalIPAddressResponse", limit).length).toBeLessThanOrEqual(limit);
        const [inner] = elementsByLocalName(clean, "GetExternalIPAddressResponse", 1);
        if (inner !== undefined) expect(Object.keys(flatChildren(inner, limit)).length).toBeLessThanOrEqual(limit);
        expect(Object.keys(flatChildren(clean)).length).toBeLessThanOrEqual(64);
        const code = firstText(clean, "errorCode");
        if (code !== undefined) expect(typeof code).toBe("string");
        decodeEntities(xml);
      }),
      RUNS,
    );
  });

  it("flatChildren keeps names as plain keys: __proto__ or constructor cannot reach a prototype", () => {
    const out = flatChildren("<__proto__>1</__proto__><constructor>2</constructor><toString/>");
    expect(Object.getPrototypeOf(out)).toBeNull();
    expect(out["__proto__"]).toBe("1");
    expect(({} as Record<string, unknown>)["polluted"]).toBeUndefined();
  });
});

describe("SSDP answers", () => {
  const valid = Buffer.from(`HTTP/1.1 200 OK\r\nCACHE-CONTROL: max-age=120\r\nST: urn:schemas-upnp-org:device:InternetGatewayDevice:1\r\nLOCATION: http://192.0.2.1:5000/rootDesc.xml\r\nUSN: uuid:x\r\n\r\n`, "latin1");

  it("are taken only with an http LOCATION on the answering address, whatever the bytes", () => {
    expect(parseSearchAnswer(valid, "192.0.2.1")?.location.href).toBe("http://192.0.2.1:5000/rootDesc.xml");
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 300 }).map((b) => Buffer.from(b)),
      mutatedText(valid.toString("latin1")).map((t) => Buffer.from(t, "latin1")),
      fc.uint8Array({ minLength: 8192, maxLength: 9000 }).map((b) => Buffer.concat([valid, Buffer.from(b)])),
    );
    fc.assert(
      fc.property(bytes, fc.constantFrom("192.0.2.1", "192.0.2.2"), (msg, from) => {
        const answer = parseSearchAnswer(msg, from);
        if (answer === undefined) return;
        expect(answer.location.protocol).toBe("http:");
        expect(answer.location.hostname).toBe(from);
        expect(answer.address).toBe(from);
      }),
      RUNS,
    );
  });
});

describe("the device description's size limit", () => {
  /** A loopback HTTP server answering `body`, with or without a content-length. */
  async function serve(body: string, declare: boolean): Promise<{ url: URL; close: () => Promise<void> }> {
    const server = createServer((_req, res) => {
      if (declare) res.setHeader("content-length", Buffer.byteLength(body));
      res.end(body);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return { url: new URL(`http://127.0.0.1:${port}/rootDesc.xml`), close: () => new Promise((resolve) => server.close(() => resolve())) };
  }
  const sized = (bytes: number): string => {
    const doc = description.replace("http://192.0.2.1:5000/", "");
    return doc + " ".repeat(bytes - Buffer.byteLength(doc));
  };

  it.each([true, false])(`reads a description of exactly ${MAX_DESCRIPTION_BYTES} bytes and refuses one byte more (content-length sent: %s)`, async (declare) => {
    for (const [bytes, ok] of [[MAX_DESCRIPTION_BYTES, true], [MAX_DESCRIPTION_BYTES + 1, false]] as const) {
      const gateway = await serve(sized(bytes), declare);
      try {
        const read = fetchServices(gateway.url, AbortSignal.timeout(10_000));
        if (ok) expect((await read).map((s) => s.controlUrl.pathname)).toEqual(["/ctl/IPConn", "/ctl"]);
        else await expect(read).rejects.toThrow(`${MAX_DESCRIPTION_BYTES}-byte limit`);
      } finally {
        await gateway.close();
      }
    }
  });
});
