import type { StateValue } from "../value.js";

/**
 * Slots as JSON text, for the log: JSON.parse is the fastest reader Node
 * has for small records (far faster than `v8.deserialize`, which pays a
 * JavaScript deserializer per record). Three things JSON cannot carry are
 * tagged, unambiguously: bytes become `{"$b": base64}`, a non-finite number
 * `{"$n": "NaN"}`, and an object key that starts with `$` gets one more `$`
 * (so a user's own `"$b"` key is written `"$$b"`).
 */

function isBytes(value: unknown): value is Uint8Array {
  return ArrayBuffer.isView(value) && value instanceof Uint8Array;
}

function replacer(this: unknown, _key: string, value: unknown): unknown {
  if (typeof value === "number") return Number.isFinite(value) ? value : { $n: String(value) };
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  if (isBytes(value)) return { $b: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64") };
  const keys = Object.keys(value);
  if (!keys.some((k) => k.startsWith("$"))) return value;
  const out: Record<string, unknown> = {};
  for (const k of keys) define(out, k.startsWith("$") ? `$${k}` : k, (value as Record<string, unknown>)[k]);
  return out;
}

function reviver(_key: string, value: unknown): unknown {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return value;
  const keys = Object.keys(value);
  if (!keys.some((k) => k.startsWith("$"))) return value;
  const record = value as Record<string, unknown>;
  if (keys.length === 1 && keys[0] === "$b" && typeof record.$b === "string") return new Uint8Array(Buffer.from(record.$b, "base64"));
  if (keys.length === 1 && keys[0] === "$n" && typeof record.$n === "string") return Number(record.$n);
  const out: Record<string, unknown> = {};
  for (const k of keys) define(out, k.startsWith("$") ? k.slice(1) : k, record[k]);
  return out;
}

/** Own data property, so a key named `__proto__` stays an ordinary key. */
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/** `data` (plain data, see {@link StateValue}, nested in arrays) as UTF-8 JSON. */
export function encodeJson(data: unknown): Buffer {
  return Buffer.from(JSON.stringify(data, replacer), "utf8");
}

/** The data {@link encodeJson} wrote. Throws `SyntaxError` for text that is not JSON. */
export function decodeJson(bytes: Uint8Array): unknown {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("utf8");
  // Most records tag nothing: parse them without calling a reviver per value.
  return text.includes('"$') ? JSON.parse(text, reviver) : JSON.parse(text);
}

export type { StateValue };
