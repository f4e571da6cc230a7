import { isXppgError } from "@xppg/errors";
import { afterAll, afterEach, beforeAll, expect } from "vitest";
import type { Connection } from "../connection.js";
import { DEFAULT_MAX_FRAME_SIZE } from "../constants.js";
import type { Listener, Transport } from "../transport.js";
import { deferred, within } from "./helpers.js";
import type { ComplianceSetup } from "./setup.js";

/** A listener, a connection dialed to it, and the connection it accepted. */
export interface Pair {
  listener: Listener;
  dialer: Connection;
  accepted: Connection;
}

/**
 * What the groups of checks in one `describe` block share: the transport under test and its setup (read them in a
 * test: they are set before the tests run), and ways to listen and dial whose listeners and connections are closed
 * after each test.
 */
export interface Suite {
  readonly ctx: ComplianceSetup;
  readonly transport: Transport;
  /** The transport that listens (`ctx.listenTransport`, else `transport`). */
  readonly listening: Transport;
  readonly maxFrameSize: number;
  /** Connections closed after each test (a test that dials on its own pushes them here). */
  readonly connections: Connection[];
  listen(onConnection?: (c: Connection) => void): Promise<Listener>;
  pair(): Promise<Pair>;
  /** A listener address where, a moment ago, something listened and now nothing does. */
  deadAddress(): Promise<string>;
}

/** Registers the hooks of a suite in the current `describe` block (setup, cleanup after each test, teardown). */
export function complianceSuite(setup: () => ComplianceSetup | Promise<ComplianceSetup>): Suite {
  let ctx: ComplianceSetup;
  let transport: Transport;
  let listening: Transport;
  let maxFrameSize: number;
  const listeners: Listener[] = [];
  const connections: Connection[] = [];

  beforeAll(async () => {
    ctx = await setup();
    transport = ctx.transport;
    listening = ctx.listenTransport ?? transport;
    maxFrameSize = ctx.maxFrameSize ?? transport.maxFrameSize ?? DEFAULT_MAX_FRAME_SIZE;
  });

  afterEach(async () => {
    const cs = connections.splice(0);
    const ls = listeners.splice(0);
    await Promise.allSettled(cs.map((c) => within(c.close(), "a connection to close in cleanup")));
    await Promise.allSettled(ls.map((l) => l.close()));
  });

  afterAll(async () => {
    await ctx?.teardown?.();
  });

  async function listen(onConnection: (c: Connection) => void = () => {}): Promise<Listener> {
    const listener = await listening.listen(ctx.listenAddress, (c) => {
      connections.push(c);
      onConnection(c);
    });
    listeners.push(listener);
    return listener;
  }

  async function pair(): Promise<Pair> {
    const accepted = deferred<Connection>();
    const listener = await listen((c) => accepted.resolve(c));
    const dialer = await within(transport.dial(listener.address), `a dial to ${listener.address}`);
    connections.push(dialer);
    return { listener, dialer, accepted: await within(accepted.promise, "the listener to accept") };
  }

  /** A listener address where, a moment ago, something listened and now nothing does. */
  async function deadAddress(): Promise<string> {
    const listener = await listening.listen(ctx.listenAddress, (c) => void c.close());
    await listener.close();
    return listener.address;
  }

  return {
    get ctx() {
      return ctx;
    },
    get transport() {
      return transport;
    },
    get listening() {
      return listening;
    },
    get maxFrameSize() {
      return maxFrameSize;
    },
    connections,
    listen,
    pair,
    deadAddress,
  };
}

/** Awaits a rejection (within the suite's bound) and checks it is an XppgError with `code`. */
export async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  let error: unknown;
  try {
    await within(promise, `a rejection with ${code}`);
  } catch (e) {
    error = e;
  }
  expect(error, `expected a rejection with ${code}`).toBeDefined();
  expect((error as { code?: unknown }).code, String((error as Error).message)).toBe(code);
  expect(isXppgError(error, code)).toBe(true);
}
