import { isXppgError } from "@xppg/errors";
import { describe, expect, it } from "vitest";
import { YJS_ERROR_CODES, YjsError } from "../src/index.js";

describe("YjsError", () => {
  it("is an xppg error with a stable code", () => {
    const error = new YjsError(YJS_ERROR_CODES.BAD_UPDATE, "The peer sent junk; it is disconnected.");
    expect(isXppgError(error, YJS_ERROR_CODES.BAD_UPDATE)).toBe(true);
    expect(error.toJSON()).toMatchObject({ name: "YjsError", code: "XPPG_ERR_YJS_BAD_UPDATE" });
  });
});
