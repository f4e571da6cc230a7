// What a page's handshake splits into, run as a page's code runs it: Node
// with the browser condition, on the built browser entry. The states are
// the exported base class (not Node's CipherState, whose transport-only
// methods a page's build does not carry), with nothing on them that reaches
// the key, the nonce or the byte budget.
import { spawnSync } from "node:child_process";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const pkgRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..");

const SCRIPT = `
const secure = await import("@xppg/secure");
const { HandshakeState, CipherState, CipherStateBase, cryptoProvider } = secure;
const mk = async (initiator) => new HandshakeState(cryptoProvider, { initiator, staticKeyPair: await cryptoProvider.x25519Generate() });
const init = await mk(true), resp = await mk(false);
await resp.readMessage(await init.writeMessage(new Uint8Array(0)));
await init.readMessage(await resp.writeMessage(new Uint8Array(0)));
await resp.readMessage(await init.writeMessage(new Uint8Array(0)));
const a = await init.split(), b = await resp.split();
const names = new Set();
for (let o = a.send; o !== null && o !== Object.prototype; o = Object.getPrototypeOf(o)) for (const n of Object.getOwnPropertyNames(o)) names.add(n);
process.stdout.write(JSON.stringify({
  base: a.send instanceof CipherStateBase && b.receive instanceof CipherStateBase,
  node: a.send instanceof CipherState,
  names: [...names].sort(),
  internals: Object.keys(secure).filter((k) => /internal/i.test(k)),
}));
`;

describe("the cipher states a handshake splits into", () => {
  it("are the exported CipherStateBase in a page's build, without Node's methods or any way to the key", () => {
    const run = spawnSync(process.execPath, ["-C", "browser", "--input-type=module", "-e", SCRIPT], { cwd: pkgRoot, encoding: "utf8", timeout: 60_000 });
    expect(run.stderr).toBe("");
    const seen = JSON.parse(run.stdout) as { base: boolean; node: boolean; names: string[]; internals: string[] };
    expect(seen.base).toBe(true);
    expect(seen.node).toBe(false);
    expect(seen.names).toEqual(["cipher", "constructor", "decryptWithAd", "decryptWithAdAsync", "encryptWithAd", "encryptWithAdAsync", "hasKey", "initializeKey", "nonce"]);
    expect(seen.internals).toEqual([]);
  });

});
