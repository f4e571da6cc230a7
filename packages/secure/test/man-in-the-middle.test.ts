// A real man in the middle: it accepts the client on its own listener, dials
// the real server, and relays every frame, altering the client's records in
// transit. Each alteration must close the server's side with a typed error.
import { memoryTransport, type Connection, type Listener, type Transport } from "@xppg/transport";
import { Collector, numberOf, numbered, turns, within } from "@xppg/transport/compliance";
import { tcpTransport } from "@xppg/transport-tcp";
import { describe, expect, it } from "vitest";
import { SECURE_ERROR_CODES, generateIdentity, secureConnection, type SecureConnection } from "../src/index.js";

/** Decides what the relay does with client record `index`; `forward` passes a frame on. */
type Tamper = (record: Uint8Array, index: number, forward: (frame: Uint8Array) => void) => void;

const HANDSHAKE_FRAMES_FROM_CLIENT = 2; // messages 1 and 3 of XX

async function relay(t: Transport, listenAddress: string, target: string, tamper: Tamper, onEndOfClient?: (c2: Connection) => void): Promise<Listener> {
  return t.listen(listenAddress, (c1) => {
    const early: Uint8Array[] = [];
    let c2: Connection | undefined;
    let fromClient = 0;
    const forward = (frame: Uint8Array): void => {
      if (c2 === undefined) early.push(frame);
      else c2.send(frame).catch(() => {});
    };
    c1.read({
      frame(f) {
        const copy = f.slice();
        const index = fromClient++ - HANDSHAKE_FRAMES_FROM_CLIENT;
        if (index < 0) forward(copy);
        else tamper(copy, index, forward);
      },
      close(info) {
        if (c2 === undefined) return;
        if (onEndOfClient !== undefined) onEndOfClient(c2);
        else void c2.close(info.error);
      },
    });
    void t.dial(target).then((conn) => {
      c2 = conn;
      for (const f of early.splice(0)) conn.send(f).catch(() => {});
      conn.read({ frame: (f) => void c1.send(f.slice()).catch(() => {}), close: (info) => void c1.close(info.error) });
    });
  });
}

async function throughRelay(t: Transport, listenAddress: string, tamper: Tamper, onEndOfClient?: (c2: Connection) => void) {
  const serverId = generateIdentity();
  let accept!: (c: SecureConnection) => void;
  const accepted = new Promise<SecureConnection>((r) => (accept = r));
  const server = await t.listen(listenAddress, (conn) => void secureConnection(conn, { identity: serverId }).then(accept, () => {}));
  const mitm = await relay(t, listenAddress, server.address, tamper, onEndOfClient);
  // The relay cannot read or forge anything: the client still gets the real server.
  const client = await secureConnection(await t.dial(mitm.address), { identity: generateIdentity(), expectedPeerId: serverId.peerId });
  const s = await within(accepted, "the server to accept");
  return { client, server: s, close: async () => Promise.allSettled([client.close(), s.close(), server.close(), mitm.close()]) };
}

/** Sends frames 0..count-1, each in a record of its own. */
async function sendSeparately(conn: SecureConnection, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    await conn.send(numbered(i, 20)).catch(() => {});
    await turns(2);
  }
}

const transports: Array<[string, () => Transport, string]> = [
  ["memory", () => memoryTransport(), "memory://"],
  ["tcp", () => tcpTransport(), "tcp://127.0.0.1:0"],
];

const attacks: Array<[string, Tamper]> = [
  [
    "flips one bit of a record",
    (r, i, fwd) => {
      if (i === 2) r[Math.floor(r.byteLength / 2)]! ^= 0x10;
      fwd(r);
    },
  ],
  [
    "flips one bit of a record's tag",
    (r, i, fwd) => {
      if (i === 2) r[r.byteLength - 1]! ^= 0x01;
      fwd(r);
    },
  ],
  [
    "replays a record",
    (r, i, fwd) => {
      fwd(r);
      if (i === 2) fwd(r.slice());
    },
  ],
  [
    "drops a record",
    (r, i, fwd) => {
      if (i !== 2) fwd(r);
    },
  ],
  [
    "swaps two records",
    (() => {
      let held: Uint8Array | undefined;
      return (r: Uint8Array, i: number, fwd: (f: Uint8Array) => void) => {
        if (i === 2) held = r;
        else if (i === 3) {
          fwd(r);
          fwd(held!);
        } else fwd(r);
      };
    })(),
  ],
  [
    "truncates a record",
    (r, i, fwd) => fwd(i === 2 ? r.subarray(0, r.byteLength - 1) : r),
  ],
  [
    "injects a record of its own",
    (r, i, fwd) => {
      if (i === 2) fwd(new Uint8Array(40).fill(7));
      fwd(r);
    },
  ],
];

for (const [tname, make, listenAddress] of transports) {
  describe(`man in the middle over ${tname}`, () => {
    for (const [what, tamper] of attacks) {
      it(`${what}: the receiver closes with XPPG_ERR_DECRYPT_FAILED after the frames before it`, async () => {
        const t = make();
        const { client, server, close } = await throughRelay(t, listenAddress, tamper);
        try {
          const at = new Collector(server);
          await sendSeparately(client, 6);
          const info = await within(server.closed, "the server to close");
          expect(info.initiator).toBe("remote");
          expect(info.error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
          expect(info.error?.message).toMatch(/tampered with, replayed, reordered or dropped/);
          expect((await at.sinkClosed()).error?.code).toBe(SECURE_ERROR_CODES.DECRYPT_FAILED);
          // The genuine records before the attack arrived (a replay comes after its original); nothing after it.
          expect(at.frames.map(numberOf)).toEqual(what === "replays a record" ? [0, 1, 2] : [0, 1]);
          expect(server.isClosed).toBe(true);
          // The client learns its connection is gone.
          await within(client.closed, "the client to close");
        } finally {
          await close();
        }
      });
    }

    it("a record cut off at the end followed by a clean close is reported as XPPG_ERR_STREAM_TRUNCATED", async () => {
      const t = make();
      let last = -1;
      const { client, server, close } = await throughRelay(
        t,
        listenAddress,
        (r, i, fwd) => {
          last = i;
          // Forward data records, hold back the empty end-of-stream record (16 bytes: only a tag).
          if (r.byteLength > 16) fwd(r);
        },
        (c2) => void c2.close(),
      );
      try {
        const at = new Collector(server);
        await sendSeparately(client, 3);
        await client.close();
        const info = await within(server.closed, "the server to close");
        expect(last).toBeGreaterThanOrEqual(3);
        expect(info.error?.code).toBe(SECURE_ERROR_CODES.STREAM_TRUNCATED);
        expect(at.frames.map(numberOf)).toEqual([0, 1, 2]);
      } finally {
        await close();
      }
    });

    it("an untouched relay changes nothing: a clean close stays clean", async () => {
      const t = make();
      const { client, server, close } = await throughRelay(t, listenAddress, (r, _i, fwd) => fwd(r));
      try {
        const at = new Collector(server);
        await sendSeparately(client, 4);
        await client.close();
        const info = await within(server.closed, "the server to close");
        expect(info).toEqual({ initiator: "remote" });
        expect(at.frames.map(numberOf)).toEqual([0, 1, 2, 3]);
      } finally {
        await close();
      }
    });
  });
}
