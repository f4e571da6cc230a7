// The page's files room (the `#files-room` import under the browser condition):
// a page has no disk, so `pg.shareFile` and `pg.files` reject with
// XPPG_ERR_NOT_IN_BROWSER whatever they are given.
// (The same calls in a real page: real-browser.integration.test.ts.)
import { describe, expect, it } from "vitest";
import { FilesRoom } from "../src/browser/files-room.js";

describe("files in a browser page", () => {
  it("pg.shareFile rejects with XPPG_ERR_NOT_IN_BROWSER for any path, even one that cannot be made a string", async () => {
    const room = new FilesRoom();
    const notInBrowser = expect.objectContaining({ code: "XPPG_ERR_NOT_IN_BROWSER", message: expect.stringContaining("which a browser page cannot do") as unknown });
    for (const path of ["/etc/hostname", Symbol("path"), Object.create(null) as unknown, undefined, 5]) {
      await expect(room.shareFile(path, undefined, () => [])).rejects.toEqual(notInBrowser);
    }
    await expect(room.api.share("/etc/hostname")).rejects.toEqual(expect.objectContaining({ code: "XPPG_ERR_NOT_IN_BROWSER" }));
  });
});
