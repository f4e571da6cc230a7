/**
 * The browser's `#topic-room` (Node's is `../topic-room.ts`): a page cannot
 * reach the BitTorrent DHT (it speaks UDP), so it joins no topic and finds
 * no peer record. Each call is refused with the words of `defaults.ts`
 * (`XPPG_ERR_NOT_IN_BROWSER`), and none of the DHT, topic or signed-record
 * code is in a page's download.
 */

import type { PeerInfo } from "../peer-table.js";
import { checkString } from "../argument-checks.js";
import { defaultDhtDiscovery } from "./defaults.js";
import type { TopicRoom as NodeTopicRoom, TopicRoomOptions, TopicsView } from "../topic-room.js";
import { ERROR_TEXTS, valuesMessage } from "@xppg/errors";

export type { TopicRoomOptions, TopicsView } from "../topic-room.js";

const EMPTY: TopicsView = { joined: [], candidates: [], stats: undefined, found: () => false };

/** Topics in a page: none can be joined. */
// Every public member of Node's room, so a call added there fails to compile here until the page has it too.
export class TopicRoom implements Pick<NodeTopicRoom, keyof NodeTopicRoom> {
  readonly #o: Pick<TopicRoomOptions, "appName">;

  constructor(options: Pick<TopicRoomOptions, "appName"> & Partial<TopicRoomOptions>) {
    this.#o = options;
  }

  get view(): TopicsView {
    return EMPTY;
  }

  async join(topic: string): Promise<void> {
    checkString(topic, "topic", "pg.joinTopic(topic)", ERROR_TEXTS ? 'pg.joinTopic("our-band")' : "", 256);
    await defaultDhtDiscovery({ appName: this.#o.appName });
  }

  async findPeer(_peerId: string): Promise<PeerInfo> {
    await defaultDhtDiscovery({ appName: this.#o.appName });
    throw new Error(ERROR_TEXTS ? "unreachable: the browser's DHT stand-in always refuses" : valuesMessage("", []));
  }

  async leave(topic: string): Promise<void> {
    checkString(topic, "topic", "pg.leaveTopic(topic)", ERROR_TEXTS ? 'pg.leaveTopic("our-band")' : "", 256);
  }

  left(_peerId: string): void {}

  async stop(): Promise<void> {}
}
