import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { generateIdentity } from "@xppg/secure";
import { NODE_ERROR_CODES, Playground } from "../src/index.js";
import { node, stopNodesAfterEach, until } from "./helpers.js";

stopNodesAfterEach();

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "xppg-node-state-"));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe("Playground: statePath", () => {
  it("keeps the state across a restart, its own writes and what peers sent", async () => {
    const identity = generateIdentity();
    const statePath = join(dir, "a.state");
    const a = await node("test-app", { identity, statePath });
    const b = await node();
    b.state.set("from-b", 2);
    await a.join(b.addresses[0]!);
    a.state.set("mine", 1);
    await until(() => a.state.get("from-b") === 2, 5000, "b's key");
    await a.stop();

    const again = await node("test-app", { identity, statePath, stateSyncIntervalMs: 10 });
    expect(again.state.toJSON()).toEqual({ mine: 1, "from-b": 2 });
  });

  it("checks statePath and stateSyncIntervalMs", () => {
    const bad = [{ statePath: 7 }, { statePath: join(dir, "x"), stateSyncIntervalMs: -1 }, { stateSyncIntervalMs: 10 }];
    for (const options of bad) {
      expect(() => new Playground("test-app", options as never)).toThrow(expect.objectContaining({ code: NODE_ERROR_CODES.INVALID_ARGUMENT }));
    }
  });
});
