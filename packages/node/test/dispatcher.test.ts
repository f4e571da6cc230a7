import { describe, expect, it } from "vitest";
import { Dispatcher } from "../src/dispatcher.js";

describe("Dispatcher", () => {
  it("calls the handlers of each kind as they are at the time, however the kinds alternate", () => {
    const calls: string[] = [];
    const d = new Dispatcher(
      (error) => calls.push(`error ${error.code}`),
      (src, kind) => calls.push(`unhandled ${kind} from ${src}`),
    );
    d.dispatch("p", "a", 0);
    const offA = d.add("a", (_src, _kind, payload) => void calls.push(`a1 ${String(payload)}`), undefined);
    d.dispatch("p", "a", 1);
    d.dispatch("p", "a", 2);
    const offB = d.add("b", (_src, _kind, payload) => void calls.push(`b ${String(payload)}`), undefined);
    d.dispatch("p", "b", 3);
    d.dispatch("p", "a", 4);
    offA();
    d.dispatch("p", "a", 5);
    d.add("a", (_src, _kind, payload) => void calls.push(`a2 ${String(payload)}`), undefined);
    d.dispatch("p", "a", 6);
    offB();
    d.dispatch("p", "b", 7);
    d.dispatch("p", "c", 8);
    d.add("a", () => {
      throw new Error("boom");
    }, undefined);
    d.dispatch("p", "a", 9);
    expect(calls).toEqual([
      "unhandled a from p",
      "a1 1",
      "a1 2",
      "b 3",
      "a1 4",
      "unhandled a from p",
      "a2 6",
      "unhandled b from p",
      "unhandled c from p",
      "a2 9",
      "error XPPG_ERR_HANDLER_FAILED",
    ]);
  });

  it("says a payload may be reused only when no handler, or only borrowing handlers that stayed the same, had it", () => {
    const d = new Dispatcher(() => {}, () => {});
    expect(d.dispatch("p", "a", 0)).toBe(true); // unhandled: the report has no payload
    const borrowing = (): void => {};
    const offBorrowing = d.add("a", borrowing, undefined, true);
    expect(d.dispatch("p", "a", 1)).toBe(true);
    const offKeeping = d.add("a", () => {}, undefined);
    expect(d.dispatch("p", "a", 2)).toBe(false);
    offKeeping();
    expect(d.dispatch("p", "a", 3)).toBe(true);
    // The same function added again without `borrow` keeps, whichever adding is removed later.
    d.add("a", borrowing, undefined);
    expect(d.dispatch("p", "a", 4)).toBe(false);
    offBorrowing();
    expect(d.dispatch("p", "a", 5)).toBe(true);
    // A keeping handler that removes itself as it runs, beside a borrowing one: it had the payload.
    d.add("b", () => {}, undefined, true);
    const off = d.add("b", () => off(), undefined);
    expect(d.dispatch("p", "b", 6)).toBe(false);
    expect(d.dispatch("p", "b", 7)).toBe(true);
    // A borrowing handler that adds another borrowing one while it runs: the set changed during the dispatch.
    let added = false;
    d.add("c", () => {
      if (!added) {
        added = true;
        d.add("c", () => {}, undefined, true);
      }
    }, undefined, true);
    expect(d.dispatch("p", "c", 8)).toBe(false);
    expect(d.dispatch("p", "c", 9)).toBe(true);
    // A borrowing handler that throws is reported, and what it threw (which may hold the payload) outlives it.
    d.add("d", () => {
      throw new Error("boom");
    }, undefined, true);
    expect(d.dispatch("p", "d", 10)).toBe(false);
  });

  it("works out again whether a kind's handlers all borrow when a signal removes one", () => {
    const d = new Dispatcher(() => {}, () => {});
    d.add("a", () => {}, undefined, true);
    const keeping = new AbortController();
    d.add("a", () => {}, keeping.signal);
    expect(d.dispatch("p", "a", 1)).toBe(false);
    keeping.abort();
    expect(d.dispatch("p", "a", 2)).toBe(true);
    // A keeping handler whose signal has already aborted is never added.
    d.add("a", () => {}, AbortSignal.abort());
    expect(d.dispatch("p", "a", 3)).toBe(true);
    // A keeping handler that had the payload, removed by its signal while a borrowing one after it runs.
    const later = new AbortController();
    d.add("b", () => {}, later.signal);
    d.add("b", () => later.abort(), undefined, true);
    expect(d.dispatch("p", "b", 4)).toBe(false);
    expect(d.dispatch("p", "b", 5)).toBe(true);
  });
});
