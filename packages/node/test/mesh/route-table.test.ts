import { describe, expect, test } from "vitest";
import { RouteTable } from "../../src/mesh/index.js";

describe("RouteTable", () => {
  test("a newer broadcast replaces a route, an older one does not even when shorter", () => {
    const routes = new RouteTable({ self: "me" });
    routes.neighborUp("a");
    routes.neighborUp("b");
    routes.learn("d", "a", 4, 10, 0);
    routes.learn("d", "b", 2, 9, 0);
    expect(routes.nextHop("d", "", 0)).toEqual({ via: "a" });
    routes.learn("d", "b", 6, 11, 0);
    expect(routes.nextHop("d", "", 0)).toEqual({ via: "b" });
    expect(routes.lookup("d", 0)?.hops).toBe(6);
  });

  test("a route through a closed link goes with it; a route back where a message came from is a loop; routes expire", () => {
    const routes = new RouteTable({ self: "me", ttlMs: 1_000 });
    routes.neighborUp("a");
    routes.neighborUp("b");
    routes.learn("d", "a", 3, 1, 0);
    routes.learn("e", "b", 3, 1, 0);
    expect(routes.nextHop("d", "a", 0)).toEqual({ none: "loop" });
    expect(routes.nextHop("a", "", 0)).toEqual({ via: "a" });
    routes.neighborDown("a");
    expect(routes.nextHop("d", "", 0)).toEqual({ none: "unknown" });
    expect(routes.nextHop("e", "", 999)).toEqual({ via: "b" });
    expect(routes.nextHop("e", "", 1_001)).toEqual({ none: "unknown" });
    // Not through a stranger, not to itself.
    routes.learn("f", "stranger", 2, 1, 0);
    routes.learn("me", "b", 2, 1, 0);
    expect(routes.size).toBe(0);
  });

  test("bounded: past its capacity the least recently learnt route is forgotten", () => {
    const routes = new RouteTable({ self: "me", capacity: 100 });
    routes.neighborUp("a");
    for (let i = 0; i < 10_000; i++) routes.learn(`d${i}`, "a", 2, 1, 0);
    expect(routes.size).toBe(100);
    expect(routes.lookup("d0", 0)).toBeUndefined();
    expect(routes.lookup("d9999", 0)?.via).toBe("a");
  });
});
