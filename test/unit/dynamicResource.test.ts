import { describe, expect, it } from "vitest";
import { cacheMode } from "../../components/dynamicResource";

describe("DELIVERY_PROVIDER_CACHE", () => {
    it.each([
        [{}, "on"],
        [{ DELIVERY_PROVIDER_CACHE: "on" }, "on"],
        [{ DELIVERY_PROVIDER_CACHE: "verify" }, "verify"],
        [{ DELIVERY_PROVIDER_CACHE: "off" }, "off"],
    ] as const)("%j reads as %s", (env, mode) => {
        expect(cacheMode(env)).toBe(mode);
    });

    it("refuses any other value, naming the setting and the fix, instead of quietly caching", () => {
        expect(() => cacheMode({ DELIVERY_PROVIDER_CACHE: "verfiy" })).toThrow(
            'DELIVERY_PROVIDER_CACHE is "verfiy": expected on (the default), verify or off. Fix: unset DELIVERY_PROVIDER_CACHE, or export DELIVERY_PROVIDER_CACHE=verify',
        );
    });
});
