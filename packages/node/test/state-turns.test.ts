import { createServer, connect, type AddressInfo, type Server, type Socket } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { settlesWithin } from "../src/state-turns.js";

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(() => {
  for (const socket of sockets.splice(0)) socket.destroy();
  for (const server of servers.splice(0)) server.close();
});

/** A loopback socket pair; resolves with both ends. */
async function socketPair(): Promise<[Socket, Socket]> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const accepted = new Promise<Socket>((resolve) => server.once("connection", resolve));
  const client = connect((server.address() as AddressInfo).port, "127.0.0.1");
  await new Promise<void>((resolve) => client.once("connect", resolve));
  const other = await accepted;
  sockets.push(client, other);
  return [client, other];
}

/** Holds the event loop for `ms`, as a long task or a loaded machine does. */
function pauseEventLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end);
}

describe("settlesWithin: how long a snapshot send waits for its peer before giving its turn", () => {
  it("what arrives during a pause of the node's own event loop longer than the bound is read before the wait is judged", async () => {
    const [a, b] = await socketPair();
    const arrived = new Promise<void>((resolve) => b.once("data", () => resolve()));
    const judged = settlesWithin(arrived, 200);
    // The peer answers at once, but the node itself stops for longer than the bound:
    // once it runs again, the expired timer comes before the data waiting to be read.
    a.write("piece taken");
    pauseEventLoop(400);
    expect(await judged).toBe(true);
  });

  it("a promise that does not settle is judged unsettled once the bound has passed", async () => {
    expect(await settlesWithin(new Promise<void>(() => {}), 100)).toBe(false);
  });

  it("a promise that settles in time is judged in time; a rejection passes through", async () => {
    expect(await settlesWithin(Promise.resolve(), 100)).toBe(true);
    await expect(settlesWithin(Promise.reject(new Error("closed")), 100)).rejects.toThrow("closed");
  });
});
