// XPPG_ERR_TRANSPORT_CONTRACT's words for each call a transport's connection
// can fail in: a send that threw (or rejected untyped) should have rejected
// with a typed error; a close that threw or rejected should have resolved.
import { describe, expect, it } from "vitest";
import { contractBrokenError } from "../src/adapter/index.js";

const conn = { transport: "acme", remoteAddress: "acme://peer" };

describe("contractBrokenError's words", () => {
  it("for send: it should have rejected with a typed xppg error, and what was being sent is lost", () => {
    const e = contractBrokenError(conn, "send", new Error("boom"));
    expect(e.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
    expect(e.message).toMatch(/acme transport's connection to acme:\/\/peer failed in its send \(Error: boom\) instead of rejecting with a typed xppg error, as its contract says/);
    expect(e.message).toMatch(/what was being sent on it is lost/);
    expect(e.details).toMatchObject({ transport: "acme", remoteAddress: "acme://peer", call: "send" });
  });

  it("for close: its contract says close resolves; the connection was taken as closed all the same; fix or report the transport (no word of a typed rejection or of lost sends)", () => {
    const e = contractBrokenError(conn, "close", new Error("boom"));
    expect(e.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
    expect(e.message).toMatch(/acme transport's connection to acme:\/\/peer failed in its close \(Error: boom\), where its contract says close resolves/);
    expect(e.message).toMatch(/taken as closed all the same/);
    expect(e.message).toMatch(/fix it \(run @xppg\/transport\/compliance against it\), or report it to its authors/);
    expect(e.message).not.toMatch(/typed xppg error|is lost/);
    expect(e.cause).toBeInstanceOf(Error);
    expect(e.details).toMatchObject({ call: "close" });
  });

  it("shows any thrown value, even one that cannot be made text (a null-prototype object, a throwing toString), without throwing itself", () => {
    const bare = contractBrokenError(conn, "close", Object.create(null));
    expect(bare.code).toBe("XPPG_ERR_TRANSPORT_CONTRACT");
    expect(bare.message).toMatch(/failed in its close \(a value \(object\) that cannot be shown as text\)/);
    const hostile = contractBrokenError(conn, "send", {
      toString() {
        throw new Error("no");
      },
    });
    expect(hostile.message).toMatch(/failed in its send \(a value \(object\) that cannot be shown as text\)/);
    expect(contractBrokenError(conn, "send", 42).message).toMatch(/failed in its send \(42\)/);
  });
});
