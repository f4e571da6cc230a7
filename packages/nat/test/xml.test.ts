import { describe, expect, it } from "vitest";
import { decodeEntities, elementsByLocalName, escapeXml, firstText, flatChildren, stripXmlNoise } from "../src/xml.js";

describe("xml helpers", () => {
  it("reads prefixed, self-closing and attributed elements", () => {
    const xml = `<s:Body><u:AddPortMappingResponse xmlns:u="urn:x/y"/><u:GetExternalIPAddressResponse xmlns:u="urn:x"><NewExternalIPAddress> 198.51.100.7 </NewExternalIPAddress><Empty/></u:GetExternalIPAddressResponse></s:Body>`;
    expect(elementsByLocalName(xml, "AddPortMappingResponse")).toEqual([""]);
    const [inner] = elementsByLocalName(xml, "GetExternalIPAddressResponse");
    expect(flatChildren(inner ?? "")).toEqual({ NewExternalIPAddress: "198.51.100.7", Empty: "" });
  });

  it("reads a SOAP fault's UPnP error code", () => {
    const fault = `<s:Fault><detail><UPnPError xmlns="urn:schemas-upnp-org:control-1-0"><errorCode>725</errorCode><errorDescription>OnlyPermanentLeasesSupported</errorDescription></UPnPError></detail></s:Fault>`;
    expect(firstText(fault, "errorCode")).toBe("725");
    expect(firstText(fault, "errorDescription")).toBe("OnlyPermanentLeasesSupported");
  });

  it("handles entities, comments, CDATA and escaping", () => {
    expect(decodeEntities("&lt;a&gt; &amp;amp; &#65;&#x42; &bogus; &#0;")).toBe("<a> &amp; AB &bogus; &#0;");
    // only characters XML allows: no ESC, no lone surrogate; tab and newline are fine
    expect(decodeEntities("&#27;[31m &#x1b; &#xD800; &#xFFFE; &#9;&#10;&#x1F600;")).toBe("&#27;[31m &#x1b; &#xD800; &#xFFFE; \t\n😀");
    expect(stripXmlNoise("a<!-- x -->b<![CDATA[c]]>d<!-- unterminated")).toBe("abcd");
    expect(escapeXml(`<"&'>`)).toBe("&lt;&quot;&amp;&apos;&gt;");
  });

  it("stops at truncated input and stays fast on hostile input", () => {
    expect(elementsByLocalName("<service><serviceType>x", "service")).toEqual([]);
    const t0 = performance.now();
    const hostile = "<service ".repeat(30_000) + "<!--".repeat(30_000) + "<a>".repeat(30_000);
    elementsByLocalName(stripXmlNoise(hostile), "service");
    flatChildren(hostile);
    expect(performance.now() - t0).toBeLessThan(2000); // linear scans: "does not hang"
  });
});
