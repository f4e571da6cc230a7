import { describe, expect, it } from "vitest";
import { generateIdentity } from "@xppg/secure";
import { Dispatcher } from "../src/dispatcher.js";
import { DIRECT_ELSEWHERE, DIRECT_KEPT, DIRECT_RELEASED, MessageRouter, type RouterOptions } from "../src/message-router.js";
import type { PeerSession } from "../src/peer-session.js";
import { FIXED_SHAPE_KINDS, KIND_BYE, KIND_FILE, KIND_FILES, KIND_FILE_CHUNK, KIND_FILE_OFFER, KIND_HELLO, KIND_MESH_GRAFT, KIND_MESH_IHAVE, KIND_PEX, KIND_PING, KIND_REQUEST, KIND_RESPONSE, KIND_ROUTE, KIND_STATE, KIND_STATE_HELLO, KIND_STATE_REQUEST, KIND_TEXT } from "../src/protocol.js";

/** A payload of the right shape for each kind with a fixed shape: a new one needs its sample here. */
const VALID_SHAPES: Record<string, unknown> = { [KIND_TEXT]: { text: "hi" } };

/**
 * A router over a real dispatcher; the rooms behind the reserved kinds only
 * record what reached them (what they do with it is their own tests' matter).
 */
function routerWithRooms() {
  const local = generateIdentity().peerId;
  const peer = generateIdentity().peerId;
  const dispatched: string[] = [];
  const rooms: string[] = [];
  const dispatcher = new Dispatcher(
    (error) => {
      throw error;
    },
    (_src, kind) => void dispatched.push(`unhandled ${kind}`),
  );
  for (const kind of [...Object.keys(FIXED_SHAPE_KINDS), "chat"]) dispatcher.add(kind, (_src, k) => void dispatched.push(k), undefined);
  // Borrowing handlers: the dispatcher says nothing kept their payloads.
  for (const kind of [...Object.keys(FIXED_SHAPE_KINDS), "stream"]) dispatcher.add(kind, (_src, k) => void dispatched.push(`borrowed ${k}`), undefined, true);
  const room = (name: string) => () => void rooms.push(name);
  const options = {
    localPeerId: local,
    dispatcher,
    stateSync: { handle: room("stateSync") },
    files: { handle: room("files") },
    swarmFiles: { receive: room("swarmFiles") },
    mesh: { receive: room("mesh"), control: room("mesh") },
    pex: { receive: room("pex") },
    reach: { handle: room("reach") },
    routing: { receive: room("routing") },
    requests: { receive: room("requests") },
    routes: () => true,
  } as unknown as RouterOptions;
  const session = { peerId: peer } as PeerSession;
  const router = new MessageRouter(options);
  const direct = (kind: string, payload: unknown) => router.deliverDirect(session, peer, kind, local, payload);
  return { direct, dispatched, rooms };
}

describe("MessageRouter.deliverDirect", () => {
  it("answers DIRECT_KEPT or DIRECT_RELEASED for an application kind with no fixed shape it handed to the handlers (the session's short way), as the dispatcher said", () => {
    const { direct, dispatched } = routerWithRooms();
    expect(direct("chat", 1)).toBe(DIRECT_KEPT);
    expect(direct("stream", new Uint8Array(4))).toBe(DIRECT_RELEASED);
    expect(direct("no-handler-yet", { any: "data" })).toBe(DIRECT_RELEASED);
    expect(dispatched).toEqual(["chat", "borrowed stream", "unhandled no-handler-yet"]);
  });

  it.each(Object.keys(FIXED_SHAPE_KINDS))("answers DIRECT_ELSEWHERE for %s, a kind with a fixed shape, though it reached the handlers (borrowing ones too)", (kind) => {
    const { direct, dispatched } = routerWithRooms();
    expect(VALID_SHAPES[kind], `a valid sample payload of "${kind}" in VALID_SHAPES`).toBeDefined();
    expect(direct(kind, VALID_SHAPES[kind])).toBe(DIRECT_ELSEWHERE);
    expect(direct(kind, VALID_SHAPES[kind])).toBe(DIRECT_ELSEWHERE);
    expect(dispatched).toEqual([kind, `borrowed ${kind}`, kind, `borrowed ${kind}`]);
    // Each message of it keeps its check: the short way would have let this one through.
    expect(() => direct(kind, { notTheShape: 5 })).toThrow(/fixed shape|text: string/);
  });

  it.each([
    [KIND_STATE, "stateSync"],
    [KIND_STATE_REQUEST, "stateSync"],
    [KIND_STATE_HELLO, "stateSync"],
    [KIND_FILE_OFFER, "files"],
    [KIND_FILE_CHUNK, "files"],
    [KIND_FILES, "swarmFiles"],
    [KIND_MESH_IHAVE, "mesh"],
    [KIND_MESH_GRAFT, "mesh"],
    ["xppg/reach-probe", "reach"],
    [KIND_ROUTE, "routing"],
    [KIND_REQUEST, "requests"],
    [KIND_RESPONSE, "requests"],
    [KIND_PEX, "pex"],
  ])("answers DIRECT_ELSEWHERE for the reserved kind %s, which goes to its room (%s)", (kind, room) => {
    const { direct, dispatched, rooms } = routerWithRooms();
    expect(direct(kind, {})).toBe(DIRECT_ELSEWHERE);
    expect(rooms).toEqual([room]);
    expect(dispatched).toEqual([]);
  });

  it.each([KIND_HELLO, KIND_BYE, KIND_PING, KIND_FILE, "xppg/teleport"])("answers nothing for the reserved kind %s, which no room takes: it breaks the protocol", (kind) => {
    const { direct, dispatched, rooms } = routerWithRooms();
    expect(() => direct(kind, {})).toThrow(expect.objectContaining({ code: "XPPG_ERR_PROTOCOL_VIOLATION" }));
    expect(rooms).toEqual([]);
    expect(dispatched).toEqual([]);
  });
});
