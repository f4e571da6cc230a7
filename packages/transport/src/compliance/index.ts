import { describe } from "vitest";
import { closeTests } from "./close.js";
import { deliveryTests } from "./delivery.js";
import { dialErrorTests } from "./dial-errors.js";
import { flowTests } from "./flow.js";
import { lendingTests } from "./lending.js";
import { listenerTests } from "./listener.js";
import { openTests } from "./open.js";
import { refusalTests } from "./refusals.js";
import type { ComplianceOptions, ComplianceSetup } from "./setup.js";
import { complianceSuite } from "./suite.js";

export { Collector, deferred, isPending, LyingBytes, lyingBytes, numberOf, numbered, patterned, sameBytes, turns, within } from "./helpers.js";
export type { Deferred } from "./helpers.js";
export type { ComplianceOptions, ComplianceSetup } from "./setup.js";

/**
 * Registers a `describe` block of tests every transport must pass: addresses,
 * ordered byte-exact delivery, limits, pause and backpressure, close from
 * either side, and dial errors. Call it from a test file:
 *
 * ```ts
 * transportComplianceTests("tcp", () => ({ transport: tcpTransport(), listenAddress: "tcp://127.0.0.1:0" }));
 * ```
 *
 * A transport that only dials passes a `listenTransport` to accept its dials.
 * `setup` runs once before the tests; `teardown` (if returned) once after.
 * The tests assert no timings: they wait for events, with generous bounds.
 */
export function transportComplianceTests(name: string, setup: () => ComplianceSetup | Promise<ComplianceSetup>, options: ComplianceOptions = {}): void {
  describe(`transport compliance: ${name}`, () => {
    // One module per group of checks, registered in this order.
    const suite = complianceSuite(setup);
    openTests(suite);
    deliveryTests(suite);
    lendingTests(suite, options);
    refusalTests(suite);
    flowTests(suite);
    closeTests(suite);
    dialErrorTests(suite);
    listenerTests(suite);
  });
}
