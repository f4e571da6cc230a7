// The browser build of @xppg/node loaded by Node (server-side rendering, a
// DOM-like test setup: `node -C browser`): importing it leaves nothing that
// keeps the process alive, and a runtime with neither setImmediate nor
// MessageChannel can import it too (the channel is made on a page's first
// turn, not at import). The timeout only bounds a process that would never
// exit; nothing here is timed.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

function importUnderBrowser(before: string): ReturnType<typeof spawnSync> {
  const script = `${before}\nconst entry = await import("@xppg/node");\nif (import.meta.resolve("@xppg/node") !== new URL("./dist/browser.js", "file://${pkgRoot}/").href) throw new Error("not the browser entry: " + import.meta.resolve("@xppg/node"));\nprocess.stdout.write(String(typeof entry.Playground));`;
  return spawnSync(process.execPath, ["-C", "browser", "--input-type=module", "-e", script], { cwd: pkgRoot, encoding: "utf8", timeout: 60_000, killSignal: "SIGKILL" });
}

describe("the built browser entry, imported by Node under the browser condition", () => {
  it("lets the process exit on its own", () => {
    const run = importUnderBrowser("");
    expect(run.stderr).toBe("");
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("function");
  });

  it("imports in a runtime without setImmediate or MessageChannel", () => {
    const run = importUnderBrowser("delete globalThis.setImmediate; delete globalThis.MessageChannel;");
    expect(run.stderr).toBe("");
    expect(run.signal).toBeNull();
    expect(run.status).toBe(0);
    expect(run.stdout).toBe("function");
  });

  it("still takes turns through a MessageChannel where there is no setImmediate, and then exits once they are done", () => {
    const run = importUnderBrowser(`delete globalThis.setImmediate;
const turns = await import(new URL("./dist/turns.js", "file://${pkgRoot}/").href);
const order = [];
await new Promise((done) => { turns.nextTurn(() => order.push(1)); turns.nextTurn(() => { order.push(2); done(); }); order.push(0); });
if (order.join() !== "0,1,2") throw new Error("turns out of order: " + order.join());`);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
  });
});
