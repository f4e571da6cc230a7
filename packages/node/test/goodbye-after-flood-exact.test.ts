import { vi } from "vitest";
import { ENVELOPES_PER_TURN, FINISH_SLICES } from "../src/bundle-reader.js";
import { stopNodesAfterEach } from "./helpers.js";
import { describeFloodGoodbye } from "./goodbye-flood.js";

/**
 * goodbye-after-flood.test.ts with exact slices, as a page reads them (no
 * slice runs on past its 1,024 envelopes): the turn the close arrives in
 * hands the handlers at most FINISH_SLICES slices (4,096), the slice
 * already read in it included. There a slice the clock ran on raises the
 * bound for every case, so a `finish` that read past its budget after an
 * exact slice would go unseen.
 */
vi.mock("#next-turn", async (importOriginal) => ({ ...(await importOriginal<typeof import("#next-turn")>()), LONG_SLICES: false }));

stopNodesAfterEach();

describeFloodGoodbye("a peer that floods, says goodbye and closes, read in exact slices", FINISH_SLICES * ENVELOPES_PER_TURN);
