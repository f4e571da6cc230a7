import { XPPG_ERROR_CODES } from "@xppg/errors";
import { afterEach, describe, expect, it } from "vitest";
import { lyingBytes } from "@xppg/transport/compliance";
import type { Playground } from "../src/index.js";
import { joinedPair, stopNodes } from "./borrowed-helpers.js";

// Payloads that pass `instanceof Uint8Array` but answer a size (or a place) other than their bytes': the
// peer must get exactly the bytes they hold, or the send must be refused with a code; never the bytes around
// them (an earlier message's in the outgoing bundle, other memory of their buffer).

afterEach(stopNodes);

async function pair(plain: boolean): Promise<{ sender: Playground; receiver: Playground; got: unknown[] }> {
  const [sender, receiver] = await joinedPair("lying-payload", { dangerouslyDisableEncryption: plain });
  const got: unknown[] = [];
  receiver.on("m", (_src, _kind, payload) => void got.push(payload instanceof Uint8Array ? payload.slice() : structuredClone(payload)));
  return { sender, receiver, got };
}

const bytes = (n: number, fill: number): Uint8Array => new Uint8Array(n).fill(fill);


/** Sends an earlier message, `payload`, and a marker in one tick (one bundle); answers what `send(payload)` gave and what arrived. */
async function sendBetween(plain: boolean, payload: unknown): Promise<{ sent: PromiseSettledResult<void>; got: unknown[] }> {
  const { sender, receiver, got } = await pair(plain);
  const to = receiver.peerId;
  const earlier = sender.send("m", bytes(4000, 0xee), to);
  let sent: Promise<void>;
  try {
    sent = sender.send("m", payload, to);
  } catch (err) {
    sent = Promise.reject(err);
  }
  const marker = sender.send("m", bytes(3, 0x77), to);
  const [settled] = await Promise.allSettled([sent, earlier, marker]);
  await expect.poll(() => got.at(-1), { timeout: 10_000, interval: 20 }).toEqual(bytes(3, 0x77));
  return { sent: settled, got };
}

describe.each([true, false])("a payload whose size lies (plain: %s)", (plain) => {
  it("a subclass claiming more bytes than it holds: its real bytes arrive, none of the earlier message's", async () => {
    const { sent, got } = await sendBetween(plain, lyingBytes(2, 3000, 0x11));
    expect(sent.status).toBe("fulfilled");
    expect(got).toEqual([bytes(4000, 0xee), bytes(2, 0x11), bytes(3, 0x77)]);
  }, 30_000);

  it("a subclass claiming fewer bytes than it holds: all its bytes arrive", async () => {
    const { sent, got } = await sendBetween(plain, lyingBytes(300, 2, 0x22));
    expect(sent.status).toBe("fulfilled");
    expect(got).toEqual([bytes(4000, 0xee), bytes(300, 0x22), bytes(3, 0x77)]);
  }, 30_000);

  it("a view inside an object whose buffer, offset and size lie: its own bytes arrive, not the rest of its buffer", async () => {
    const memory = new Uint8Array(3000).fill(0xaa);
    memory.fill(0x33, 1000, 1010);
    const view = new Uint8Array(memory.buffer, 1000, 10);
    Object.defineProperty(view, "byteOffset", { value: 0 });
    Object.defineProperty(view, "byteLength", { value: 3000 });
    const { sent, got } = await sendBetween(plain, { data: view });
    expect(sent.status).toBe("fulfilled");
    expect(got).toEqual([bytes(4000, 0xee), { data: bytes(10, 0x33) }, bytes(3, 0x77)]);
  }, 30_000);

  it("a Proxy of a Uint8Array is refused with XPPG_ERR_INVALID_ARGUMENT, and the messages around it arrive", async () => {
    const payload = new Proxy(bytes(5, 0x44), { get: (target, key) => (key === "length" || key === "byteLength" ? 3000 : Reflect.get(target, key, target)) });
    const { sent, got } = await sendBetween(plain, payload);
    expect(sent.status).toBe("rejected");
    expect((sent as PromiseRejectedResult).reason).toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    expect(got).toEqual([bytes(4000, 0xee), bytes(3, 0x77)]);
  }, 30_000);

  it("an object given Uint8Array's prototype is refused with XPPG_ERR_INVALID_ARGUMENT", async () => {
    const payload = Object.setPrototypeOf({ length: 3000, byteLength: 3000 }, Uint8Array.prototype) as Uint8Array;
    const { sent, got } = await sendBetween(plain, payload);
    expect(sent.status).toBe("rejected");
    expect((sent as PromiseRejectedResult).reason).toMatchObject({ name: "TypeError", code: XPPG_ERROR_CODES.INVALID_ARGUMENT });
    expect(got).toEqual([bytes(4000, 0xee), bytes(3, 0x77)]);
  }, 30_000);
});
