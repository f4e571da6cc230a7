import { describe, expect, test } from "vitest";
import { AddressBook, recordsToPass, type KnownPeer, type PeerRecord } from "../../src/mesh/address-book.js";

const record = (peerId: string, time: number): PeerRecord => ({ peerId, addresses: [`tcp://${peerId}:1`], time, signature: new Uint8Array(64) });
const learnt = (peerId: string, informant: string, time = 1): KnownPeer => ({ peerId, addresses: [`tcp://${peerId}:1`], learnt: "exchange", informant, record: record(peerId, time), time });

describe("AddressBook", () => {
  test("one informant fills at most its share; others still get in; the whole book is bounded", () => {
    const book = new AddressBook({ capacity: 100, maxPerInformant: 10 });
    for (let i = 0; i < 1000; i++) book.add(learnt(`fake${i}`, "mallory"));
    expect(book.size).toBe(10);
    for (let n = 0; n < 20; n++) for (let i = 0; i < 10; i++) book.add(learnt(`p${n}-${i}`, `honest${n}`));
    expect(book.size).toBe(100);
    expect(book.get("p19-9")).toBeDefined();
  });

  test("an older record changes nothing; a newer one replaces it; an unsigned newer entry keeps the record to pass on", () => {
    const book = new AddressBook();
    expect(book.add(learnt("x", "a", 10))).toBe(true);
    expect(book.add({ ...learnt("x", "a", 5), addresses: ["tcp://old:1"] })).toBe(false);
    expect(book.get("x")!.addresses).toEqual(["tcp://x:1"]);
    book.add({ peerId: "x", addresses: ["tcp://lan:1"], learnt: "lan", informant: "", record: undefined, time: 20 });
    expect(book.get("x")!.addresses).toEqual(["tcp://lan:1"]);
    expect(recordsToPass(book, 5, [], new Set()).map((r) => r.time)).toEqual([10]);
  });

  test("records to pass on: the ones asked first, none of the excluded, at most max", () => {
    const book = new AddressBook();
    for (const p of ["a", "b", "c", "d"]) book.add(learnt(p, "n"));
    expect(recordsToPass(book, 2, ["c"], new Set(["d"])).map((r) => r.peerId)).toEqual(["c", "b"]);
  });
});
