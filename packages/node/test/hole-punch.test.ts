import { createServer } from "node:net";
import { describe, expect, it } from "vitest";
import { MAX_PUNCHES_PER_ADDRESS_PER_MINUTE, MAX_PUNCH_ATTEMPTS, punchTcp } from "../src/hole-punch.js";

/** A loopback port nothing listens on (bound, read, closed). */
async function closedPort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address() as { port: number };
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

describe("punchTcp", () => {
  it("is bounded per address: a relay naming a third party gets a few tries a minute, then none", async () => {
    const port = await closedPort();
    const results = [];
    for (let i = 0; i < MAX_PUNCHES_PER_ADDRESS_PER_MINUTE + 2; i++) {
      results.push(await punchTcp({ localPort: 0, remoteHost: "127.0.0.3", remotePort: port, timeoutMs: 150, intervalMs: 20 }));
    }
    const tried = results.filter((r) => r.attempts > 0);
    expect(tried).toHaveLength(MAX_PUNCHES_PER_ADDRESS_PER_MINUTE);
    expect(results.slice(MAX_PUNCHES_PER_ADDRESS_PER_MINUTE)).toEqual([
      { socket: undefined, attempts: 0, reason: "too many punches towards that address this minute" },
      { socket: undefined, attempts: 0, reason: "too many punches towards that address this minute" },
    ]);
    for (const r of tried) expect(r.attempts).toBeLessThanOrEqual(MAX_PUNCH_ATTEMPTS);
  });

  it("gives up after its attempts even with time left, and stops when aborted", async () => {
    const port = await closedPort();
    const used = await punchTcp({ localPort: 0, remoteHost: "127.0.0.4", remotePort: port, timeoutMs: 60_000, intervalMs: 1 });
    expect(used).toMatchObject({ socket: undefined, attempts: MAX_PUNCH_ATTEMPTS, reason: "attempts used up" });
    const controller = new AbortController();
    const aborted = punchTcp({ localPort: 0, remoteHost: "127.0.0.5", remotePort: port, timeoutMs: 60_000, signal: controller.signal });
    controller.abort();
    await expect(aborted).resolves.toMatchObject({ socket: undefined, reason: "aborted" });
  });

  it("connects when the other side is reachable", async () => {
    const server = createServer((s) => s.end());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const { port } = server.address() as { port: number };
    const result = await punchTcp({ localPort: 0, remoteHost: "127.0.0.1", remotePort: port });
    expect(result.socket).toBeDefined();
    result.socket?.destroy();
    await new Promise<void>((r) => server.close(() => r()));
  });
});
