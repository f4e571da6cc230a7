// Just enough XML for UPnP: device descriptions and SOAP envelopes are small,
// flat where we read them, and hostile until checked. Every scan below moves
// forward with indexOf or a regex that cannot backtrack across tags, so the
// work stays linear in the (size-capped) input. Not a general XML parser.

const NAME = "[A-Za-z_][\\w.-]*";

/** Removes comments and CDATA markers; an unterminated comment cuts the rest. */
export function stripXmlNoise(xml: string): string {
  let out = "";
  let pos = 0;
  while (pos < xml.length) {
    const start = xml.indexOf("<!--", pos);
    if (start === -1) {
      out += xml.slice(pos);
      break;
    }
    out += xml.slice(pos, start);
    const end = xml.indexOf("-->", start + 4);
    if (end === -1) break;
    pos = end + 3;
  }
  return out.replaceAll("<![CDATA[", "").replaceAll("]]>", "");
}

/**
 * Decodes the five predefined entities and numeric character references. A
 * reference to a character XML 1.0 does not allow (`&#27;`, `&#0;`, a lone
 * surrogate; XML 1.0 section 2.2 "Char") is left as it is.
 */
export function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|lt|gt|amp|quot|apos);/g, (whole, ref: string) => {
    switch (ref) {
      case "lt": return "<";
      case "gt": return ">";
      case "amp": return "&";
      case "quot": return '"';
      case "apos": return "'";
    }
    const code = ref[1] === "x" ? Number.parseInt(ref.slice(2), 16) : Number.parseInt(ref.slice(1), 10);
    return isXmlChar(code) ? String.fromCodePoint(code) : whole;
  });
}

function isXmlChar(code: number): boolean {
  return code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0xd7ff) || (code >= 0xe000 && code <= 0xfffd) || (code >= 0x10000 && code <= 0x10ffff);
}

/**
 * The raw inner XML of each element called `localName` (any namespace prefix),
 * in document order, at most `limit` of them. Elements of that name must not
 * nest (true for `service`, `errorCode`, `...Response`).
 */
export function elementsByLocalName(xml: string, localName: string, limit = 256): string[] {
  if (!/^[A-Za-z_][\w.-]*$/.test(localName)) throw new TypeError(`bad element name ${localName}`);
  const open = new RegExp(`<(${NAME}:)?${localName}(?:\\s[^<>]*?)?(/?)>`, "g");
  const found: string[] = [];
  let match: RegExpExecArray | null;
  while (found.length < limit && (match = open.exec(xml)) !== null) {
    if (match[2] === "/") {
      found.push("");
      continue;
    }
    const close = `</${match[1] ?? ""}${localName}>`;
    const end = xml.indexOf(close, open.lastIndex);
    if (end === -1) break;
    found.push(xml.slice(open.lastIndex, end));
    open.lastIndex = end + close.length;
  }
  return found;
}

/** The decoded, trimmed text of the first `localName` element, or undefined. */
export function firstText(xml: string, localName: string): string | undefined {
  const [inner] = elementsByLocalName(xml, localName, 1);
  return inner === undefined ? undefined : decodeEntities(inner).trim();
}

/**
 * The child elements of a flat element (`<u:XResponse><A>1</A><B/></u:XResponse>`)
 * as `{ A: "1", B: "" }`, keyed by local name. At most `limit` children.
 */
export function flatChildren(inner: string, limit = 64): Record<string, string> {
  const open = new RegExp(`<(${NAME}:)?(${NAME})(?:\\s[^<>]*?)?(/?)>`, "g");
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let count = 0;
  let match: RegExpExecArray | null;
  while (count < limit && (match = open.exec(inner)) !== null) {
    const name = match[2] as string;
    count++;
    if (match[3] === "/") {
      out[name] = "";
      continue;
    }
    const close = `</${match[1] ?? ""}${name}>`;
    const end = inner.indexOf(close, open.lastIndex);
    if (end === -1) break;
    out[name] = decodeEntities(inner.slice(open.lastIndex, end)).trim();
    open.lastIndex = end + close.length;
  }
  return out;
}

/** Escapes text for an XML element body. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", "'": "&apos;", '"': "&quot;" })[c] as string);
}
