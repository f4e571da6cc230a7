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
});
