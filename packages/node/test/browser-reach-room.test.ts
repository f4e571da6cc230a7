// The page's reach room (the `#reach-room` import under the browser
// condition): a page listens on nothing, so no observer or dial-back ever
// reaches it, and its reachability says what Node's does with none of them.
import { describe, expect, it } from "vitest";
import { ReachRoom } from "../src/browser/reach-room.js";
import type { ReachRoomOptions } from "../src/reach-room.js";
import { Reachability } from "../src/reachability.js";

describe("reachability in a browser page", () => {
  it("is Node's verdict with no observation: unknown, with a mapped address kept as given", () => {
    const page = new ReachRoom({} as ReachRoomOptions).reachability;
    const node = new Reachability({ minConfirmations: 2 });
    expect(page.status()).toEqual(node.status());
    page.mapped("203.0.113.7:4000");
    node.mapped("203.0.113.7:4000");
    expect(page.status()).toEqual(node.status());
    expect(page.status().kind).toBe("unknown");
    page.mapped(undefined);
    node.mapped(undefined);
    expect(page.status()).toEqual(node.status());
  });
});
