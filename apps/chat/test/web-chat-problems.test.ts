// The web chat's words for an xppg error (apps/web-chat's describeProblem). Its production build leaves xppg's
// error texts out, so a message is a code and values: the codes a user meets get the chat's own words, and any
// other xppg error a plain sentence with its code, never the bare code and values.
import { PlaygroundError, RemotePeerError } from "@xppg/node";
import { vi } from "vitest";
import { describe, expect, it } from "vitest";
import { describeProblem } from "../../web-chat/src/chat-room.js";

const SERVER = "ws://127.0.0.1:7338/";
/** An error as the page's production build makes it: its text left out. */
const production = (code: string, ...values: unknown[]): PlaygroundError => new PlaygroundError(code as never, values);

describe("the web chat's words for a problem", () => {
  it("says the codes a user meets in its own words, whichever build made the error", () => {
    expect(production("XPPG_ERR_DIAL_FAILED", SERVER).message).toContain("production build left this error's text out");
    expect(describeProblem(production("XPPG_ERR_DIAL_FAILED", SERVER), SERVER)).toBe(`Cannot reach ${SERVER}. Is the chat running there with --web (or --ws), and is the address right?`);
    expect(describeProblem(production("XPPG_ERR_IDENTITY_STORE", "xppg-identities"), SERVER)).toMatch(/^This browser does not let the page keep its key/);
    expect(describeProblem(production("XPPG_ERR_TOO_MANY_PEERS", "xp1abc", 64), SERVER)).toBe(`The chat at ${SERVER} has as many people as it takes. Try again later.`);
    expect(describeProblem(production("XPPG_ERR_CLOCK_SKEW"), SERVER)).toMatch(/clock/);
  });

  it("gives any other xppg error of a production build a sentence with its code, and a full text as it is", () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => {});
    const rateLimited = production("XPPG_ERR_RATE_LIMITED", 100);
    expect(describeProblem(rateLimited, SERVER)).toBe("Something went wrong (XPPG_ERR_RATE_LIMITED); the browser's console has the details.");
    // It says the console has the details: they are there.
    expect(logged).toHaveBeenCalledWith(rateLimited);
    logged.mockRestore();
    // Told by the values form's sentence, not by a message that starts with its code.
    expect(describeProblem(new PlaygroundError("XPPG_ERR_RATE_LIMITED", "XPPG_ERR_RATE_LIMITED: slow down"), SERVER)).toBe("XPPG_ERR_RATE_LIMITED: slow down.");
    expect(describeProblem(new PlaygroundError("XPPG_ERR_RATE_LIMITED", "You sent too fast."), SERVER)).toBe("You sent too fast.");
    expect(describeProblem(new Error("The message has 2001 characters; the limit is 2000. Split it."), SERVER)).toBe("The message has 2001 characters; the limit is 2000. Split it.");
  });

  it("says a peer's goodbye in the peer's words, in either build, once punctuated", () => {
    // As the page's peer session makes it: the peer's code and reason (its text is the peer's, never left out).
    const shutdown = { production: new RemotePeerError("XPPG_ERR_PEER_SHUTDOWN", "XPPG_ERR_PEER_SHUTDOWN: The peer xp1abc is shutting down."), development: new RemotePeerError("XPPG_ERR_PEER_SHUTDOWN", "The peer closed the connection: The peer xp1abc is shutting down.") };
    for (const e of Object.values(shutdown)) expect(describeProblem(e, SERVER)).toBe(`The chat at ${SERVER} is shutting down.`);
    const bye = (reason: string): RemotePeerError => new RemotePeerError("XPPG_ERR_DISCONNECTED", `XPPG_ERR_DISCONNECTED: ${reason}`);
    expect(describeProblem(bye("xp1abc disconnected: maintenance"), SERVER)).toBe(`The chat at ${SERVER} closed this link: xp1abc disconnected: maintenance.`);
    // A reason that ends on a colon (an empty one after the peer's id) or a closing bracket ends with one stop.
    expect(describeProblem(bye("xp1abc disconnected: "), SERVER)).toBe(`The chat at ${SERVER} closed this link: xp1abc disconnected.`);
    expect(describeProblem(bye("(we are moving.)"), SERVER)).toBe(`The chat at ${SERVER} closed this link: (we are moving.)`);
    expect(describeProblem(new PlaygroundError("XPPG_ERR_DISCONNECTED", ["xp1abc", 40]), SERVER)).toBe(`The link to ${SERVER} was closed on purpose.`);
    const other = new RemotePeerError("XPPG_ERR_APP_SPECIFIC", "The peer closed the connection: we are moving to another host.");
    const said = describeProblem(other, SERVER);
    expect(said).toBe(`${SERVER} said: we are moving to another host.`);
    for (const e of [...Object.values(shutdown), bye("x"), other]) {
      const words = describeProblem(e, SERVER);
      expect(words).not.toMatch(/\.\)|\.\.|Something went wrong|console/);
    }
  });
});
