import { describe, expect, it } from "vitest";
import { ENV_NAME_PATTERN, RESERVED_ENV_NAMES, runtimeEnv } from "../../../components/release/runtimeEnv";

describe("runtimeEnv", () => {
    it("gives the release id and the container port as a string", () => {
        expect(runtimeEnv("r-0123456789ab", 8080)).toEqual({ RELEASE_ID: "r-0123456789ab", PORT: "8080" });
    });

    it("reserves exactly the names it sets, each a valid variable name", () => {
        expect(RESERVED_ENV_NAMES).toEqual(["RELEASE_ID", "PORT"]);
        expect(RESERVED_ENV_NAMES.every((n) => ENV_NAME_PATTERN.test(n))).toBe(true);
    });
});
