// Types of report.mjs, for its tests (bench/test) and the type-aware lint.

/** One round's measurement of one contender in one phase: its figures by name, or the error that stopped it. */
export type RoundResult = { error?: string } & Record<string, unknown>;

/** The median over rounds of `mine[i][key] / theirs[i][key]`, with the lowest and highest; null when no round has both. */
export declare function pairedRatio(mine: readonly RoundResult[], theirs: readonly RoundResult[], key: string): { ratio: number; min: number; max: number; rounds: number } | null;

/** The printed tables and the JSON summary of a run (figures by phase and contender, and the verdicts on the targets). */
export declare function formatReport(run: {
  meta: Record<string, unknown> & { rounds: number };
  phases: readonly ({ id: string; kind: string } & Record<string, unknown>)[];
  contenders: readonly ({ name: string; label: string; compareTo: string | null; notes: string[] } & Record<string, unknown>)[];
  results: Record<string, Record<string, RoundResult[]>>;
  skipped?: readonly { name: string; reason: string }[];
}): { text: string; summary: { figures: Record<string, Record<string, Record<string, number>>>; verdicts: Record<string, Record<string, { pass: boolean; ratio?: number } & Record<string, unknown>>> } };
