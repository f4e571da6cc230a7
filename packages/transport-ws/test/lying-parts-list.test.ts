import type { Connection } from "@xppg/transport";
import { deferred, within } from "@xppg/transport/compliance";
import { afterEach, expect, it, vi } from "vitest";
import { webSocketTransport } from "../src/index.js";

// A parts list whose constructor names a species: copying it with Array.prototype.slice would build the copy
// with the caller's constructor, which may hand back an object answering other parts at each reading. Measured
// with one list and written with another, the message would carry bytes nobody wrote (Node's pool).

const cleanup: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanup.splice(0).reverse()) await c();
});

it("sendParts measures and writes the same parts, whatever the list's species", async () => {
  const t = webSocketTransport();
  const accepted = deferred<Connection>();
  const listener = await t.listen("ws://127.0.0.1:0", (c) => accepted.resolve(c));
  const client = await t.dial(listener.address);
  const server = await within(accepted.promise, "accept");
  cleanup.push(() => Promise.allSettled([client.close(), server.close(), listener.close()]));
  const received: Uint8Array[] = [];
  server.read({ frame: (f) => void received.push(new Uint8Array(f)) });

  const big = new Uint8Array(1000).fill(0x21);
  const small = new Uint8Array(1).fill(0x22);
  let readings = 0;
  // The first reading of each index answers `big`, the later ones `small`.
  const species = function (this: unknown): unknown {
    const target: Uint8Array[] = [];
    return new Proxy(target, {
      get(t, key, receiver) {
        if (typeof key === "string" && /^\d+$/.test(key) && key in t) return readings++ < 1 ? big : small;
        return Reflect.get(t, key, receiver);
      },
    });
  };
  const parts = [big];
  Object.defineProperty(parts, "constructor", { value: { [Symbol.species]: species } });
  Buffer.from(new Uint8Array(1000).fill(0xee));
  await client.sendParts(parts).catch(() => {});
  await client.send(new Uint8Array([7]));
  await vi.waitFor(() => expect(received.length).toBeGreaterThan(0));
  await vi.waitFor(() => expect(received.at(-1)).toEqual(new Uint8Array([7])));
  // The parts as first read (1000 bytes of 0x21) or as read later (one 0x22): never a message longer than its bytes.
  const first = received[0]!;
  expect(received).toHaveLength(2);
  expect(first.length === 1 ? first[0] === 0x22 : first.length === 1000 && first.every((b) => b === 0x21)).toBe(true);
});
