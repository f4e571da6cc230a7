// @xppg/state's warm-up for its code cache (scripts/code-cache.mjs): what a
// node does with it at creation and on a first connection (a replica made,
// its digest and a delta taken, a peer's update checked and applied).
export async function warmUp(load) {
  const { SharedState } = await load("@xppg/state");
  const a = new SharedState({ replicaId: "a" });
  const b = new SharedState({ replicaId: "b" });
  a.on("change", () => {});
  a.set("k", { v: 1 });
  b.apply(b.validateUpdate(a.delta(0)), "a");
  b.apply(a.snapshot(), "a");
  b.get("k");
  a.close();
  b.close();
}
