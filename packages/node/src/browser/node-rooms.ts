/**
 * The browser's `#node-rooms` (Node's is `../node-rooms.ts`): a page has
 * no files on disk, no listener to be reached on, no LAN and no DHT, so it
 * makes the stand-ins of those rooms (each refuses in words, or answers as
 * Node's would with nothing to offer) and none of Node's wiring.
 */

import type { NodeRooms, NodeRoomsContext } from "../node-rooms.js";
import { DiscoveryRoom } from "./discovery-room.js";
import { FileTransfers } from "./file-transfer.js";
import { FilesRoom } from "./files-room.js";
import { PeerExchange } from "./peer-exchange.js";
import { ReachRoom } from "./reach-room.js";
import { TopicRoom } from "./topic-room.js";

export type { NodeRooms, NodeRoomsContext } from "../node-rooms.js";

/** The page's stand-ins of Node's file, reachability, discovery, topic and peer-exchange rooms. */
// Typed as Node's rooms, as the `#` imports are everywhere: each stand-in has the members the node calls.
export function wireNodeRooms(c: NodeRoomsContext): NodeRooms {
  const files = new FileTransfers();
  const rooms = { files, swarmFiles: new FilesRoom(), reach: new ReachRoom(), discovery: new DiscoveryRoom(), topics: new TopicRoom({ appName: c.o.appName }), pex: new PeerExchange() };
  return rooms as unknown as NodeRooms;
}
