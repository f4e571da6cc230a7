import type { Connection } from "@xppg/transport";
import { tcpTransport } from "@xppg/transport-tcp";
import { expect } from "vitest";

/**
 * A direct TCP connection on loopback, both sides (`near` dialled, `far` accepted), standing in for a punched one
 * (simultaneous open needs NATs that drop unsolicited SYNs: loopback answers RST; the lab test punches for real).
 * The listener and `far` are closed by `cleanup`, the caller's list run after each test; `near` is the test's (it
 * is handed to a circuit, or given a broken close, and closed by what the test does).
 */
export async function directPair(cleanup: (() => Promise<unknown>)[]): Promise<{ near: Connection; far: Connection }> {
  const tcp = tcpTransport();
  let far: Connection | undefined;
  const listener = await tcp.listen("tcp://127.0.0.1:0", (c) => (far = c));
  cleanup.push(() => listener.close());
  const near = await tcp.dial(listener.address);
  await expect.poll(() => far).toBeDefined();
  cleanup.push(() => far!.close());
  return { near, far: far! };
}
