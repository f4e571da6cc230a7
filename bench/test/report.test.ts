import { describe, expect, it } from "vitest";
import { formatReport, pairedRatio } from "../report.mjs";

// How the bench turns rounds into ratios and verdicts. Hand-made rounds, so the arithmetic is checked
// on its own (the figures of a real run are not judged anywhere: no timing assertions).

describe("pairedRatio", () => {
  it("is the median of the rounds' own ratios, not the ratio of the two medians", () => {
    // The machine slows down between rounds and both contenders with it: the one measured here is
    // 10% ahead in every round, which the ratio of medians (150 / 200 against 100 / 200...) hides.
    const mine = [{ rate: 110 }, { rate: 220 }, { rate: 55 }];
    const theirs = [{ rate: 100 }, { rate: 200 }, { rate: 50 }];
    const r = pairedRatio(mine, theirs, "rate");
    expect(r).not.toBeNull();
    expect(r?.ratio).toBeCloseTo(1.1, 10);
    expect(r?.min).toBeCloseTo(1.1, 10);
    expect(r?.max).toBeCloseTo(1.1, 10);
    expect(r?.rounds).toBe(3);
    // One round's ratio moves the range, not the median.
    const shifted = pairedRatio([{ rate: 110 }, { rate: 220 }, { rate: 45 }], [{ rate: 100 }, { rate: 200 }, { rate: 60 }], "rate");
    expect(shifted?.ratio).toBeCloseTo(1.1, 10);
    expect(shifted?.min).toBeCloseTo(0.75, 10);
  });

  it("leaves out a round where either run failed or has no figure, and pairs rounds by their index", () => {
    const mine = [{ rate: 10 }, { error: "broke" }, { rate: 30 }, { rate: 40 }];
    const theirs = [{ rate: 5 }, { rate: 10 }, { rate: Number.NaN }, { rate: 20 }];
    expect(pairedRatio(mine, theirs, "rate")).toEqual({ ratio: 2, min: 2, max: 2, rounds: 2 });
  });

  it("is null when no round has both figures", () => {
    expect(pairedRatio([], [{ rate: 1 }], "rate")).toBeNull();
    expect(pairedRatio([{ error: "x" }], [{ rate: 1 }], "rate")).toBeNull();
    expect(pairedRatio([{ rate: 1 }], [{ rate: 0 }], "rate")).toBeNull();
  });
});

describe("formatReport verdicts", () => {
  const flood = (megabytesPerSecond: number) => ({
    messagesPerSecond: (megabytesPerSecond * 1e6) / 65_536,
    megabytesPerSecond,
    senderCpuUsPerMessage: 50,
    receiverCpuUsPerMessage: 50,
    senderCpu: 0.9,
    receiverCpu: 0.9,
    rssSenderBytes: 50 * 2 ** 20,
    rssReceiverBytes: 50 * 2 ** 20,
  });
  const meta = { node: "v20", cpu: "test", memoryGiB: 1, git: "test", rounds: 3, warmupMs: 0, durationMs: 1000, sendPolicy: "test", loadAverage: { start: 0 } };
  const phases = [{ id: "bulk", kind: "flood" }];
  const contenders = [
    { name: "anchor", label: "Anchor", compareTo: null, notes: [] },
    { name: "mine", label: "Mine", compareTo: "anchor", notes: [], targets: [{ issue: "encrypted", phase: "bulk", minRatio: 1 }] },
  ];

  it("judges by the rounds' own ratios, not by the ratio of the two medians", () => {
    // Mine is 2% ahead of the anchor beside it in two rounds and had one poor run: the rounds' ratios are
    // 1.02, 1.02 and 0.5, and their median passes, where the ratio of the medians (150 / 200) would fail it.
    const ahead = { bulk: { anchor: [flood(100), flood(200), flood(300)], mine: [flood(102), flood(204), flood(150)] } };
    const pass = formatReport({ meta, phases, contenders, results: ahead });
    expect(pass.summary.verdicts.mine?.bulk?.pass).toBe(true);
    expect(pass.summary.verdicts.mine?.bulk?.ratio).toBeCloseTo(1.02, 10);
    expect(pass.text).toContain("50-102%");
    // And the other way: behind in two rounds of three, ahead by far in one; the medians (250 / 200) would pass it.
    const behind = { bulk: { anchor: [flood(100), flood(200), flood(300)], mine: [flood(250), flood(190), flood(285)] } };
    const fail = formatReport({ meta, phases, contenders, results: behind });
    expect(fail.summary.verdicts.mine?.bulk?.pass).toBe(false);
    expect(fail.summary.verdicts.mine?.bulk?.ratio).toBeCloseTo(0.95, 10);
    expect(fail.text).toContain("95-250%");
  });

  it("fails a contender behind in most rounds, and prints the range of the rounds' ratios", () => {
    const results = { bulk: { anchor: [flood(500), flood(700), flood(900)], mine: [flood(450), flood(630), flood(990)] } };
    const { summary, text } = formatReport({ meta, phases, contenders, results });
    expect(summary.verdicts.mine?.bulk?.pass).toBe(false);
    expect(summary.verdicts.mine?.bulk?.ratio).toBeCloseTo(0.9, 10);
    expect(text).toContain("90-110%");
  });

  it("judges a default handler's sender by its peak RSS and shows its receiver's beside the anchor's receiver", () => {
    const withRss = (megabytesPerSecond: number, senderMiB: number, receiverMiB: number) => ({
      ...flood(megabytesPerSecond),
      rssSenderBytes: senderMiB * 2 ** 20,
      rssReceiverBytes: receiverMiB * 2 ** 20,
    });
    const rssContenders = [
      { name: "anchor", label: "Anchor", compareTo: null, notes: [] },
      {
        name: "keep",
        label: "Keep",
        compareTo: "anchor",
        notes: [],
        targets: [
          { issue: "encrypted", phase: "bulk", maxRssMiB: 100, side: "sender" },
          { issue: "encrypted", phase: "bulk", receiverRssAgainst: "anchor" },
        ],
      },
      { name: "each", label: "Each", compareTo: "anchor", notes: [], targets: [{ issue: "encrypted", phase: "bulk", maxRssMiB: 100 }] },
    ];
    const rounds = (s: number, r: number) => [withRss(100, s, r), withRss(100, s, r), withRss(100, s, r)];
    const results = { bulk: { anchor: rounds(60, 97), keep: rounds(70, 116), each: rounds(70, 116) } };
    const { summary, text } = formatReport({ meta, phases, contenders: rssContenders, results });
    // The sender alone is judged for the default handler; each side for the other.
    expect(summary.verdicts.keep?.["bulk-rss-sender"]).toMatchObject({ pass: true, targetMiB: 100 });
    expect(summary.verdicts.keep?.["bulk-rss-sender"]?.peakMiB).toBeCloseTo(70, 10);
    expect(summary.verdicts.each?.["bulk-rss"]).toMatchObject({ pass: false });
    expect(summary.verdicts.each?.["bulk-rss"]?.peakMiB).toBeCloseTo(116, 10);
    // The receiver is shown with the anchor's receiver, and neither passes nor fails.
    const shown = summary.verdicts.keep?.["bulk-rss-receiver"];
    expect(shown).toMatchObject({ informational: true });
    expect(shown?.pass).toBeUndefined();
    expect(shown?.peakMiB).toBeCloseTo(116, 10);
    expect(shown?.againstMiB).toBeCloseTo(97, 10);
    expect(text).toMatch(/116 MiB \(Anchor: 97 MiB\)\s+info/);
    // A sender over the line fails.
    const heavy = formatReport({ meta, phases, contenders: rssContenders, results: { bulk: { anchor: rounds(60, 97), keep: rounds(120, 60), each: rounds(60, 60) } } });
    expect(heavy.summary.verdicts.keep?.["bulk-rss-sender"]?.pass).toBe(false);
  });
});
