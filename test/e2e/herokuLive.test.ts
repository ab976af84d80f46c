import { describe, expect, it } from "vitest";
import { herokuRequest } from "../../components/heroku/herokuApi";
import { herokuConfigVarsProvider } from "../../components/heroku/herokuConfigVars";

/**
 * The Platform API client and the config vars provider against real Heroku, to catch where the
 * double (test/support/heroku) and Heroku disagree. Runs only when HEROKU_API_KEY,
 * HEROKU_STAGING_APP and HEROKU_PRODUCTION_APP are set (throwaway apps of the container stack:
 * the test sets and removes one config var of its own on each, which makes Heroku releases, and
 * touches nothing else). Otherwise it reports itself as not run.
 */
const apiKey = process.env.HEROKU_API_KEY;
const apps = [process.env.HEROKU_STAGING_APP, process.env.HEROKU_PRODUCTION_APP];
const missing = [
    ["HEROKU_API_KEY", apiKey],
    ["HEROKU_STAGING_APP", apps[0]],
    ["HEROKU_PRODUCTION_APP", apps[1]],
]
    .filter(([, v]) => !v)
    .map(([k]) => k);
const enabled = missing.length === 0;
const apiUrl = process.env.HEROKU_API_URL ?? "https://api.heroku.com";
const title = enabled ? `live Heroku at ${apiUrl} (apps ${apps.join(", ")})` : `live Heroku (not run: ${missing.join("/")} unset)`;

describe(title, () => {
    it.skipIf(!enabled)(
        "reads each app's web_url and sets, then removes, a config var of its own (each change one release)",
        async () => {
            const conn = { apiUrl, apiKey: apiKey ?? "" };
            for (const app of apps as string[]) {
                const info = await herokuRequest<{ name: string; web_url: string }>(conn, "GET", `/apps/${app}`);
                expect(info.name).toBe(app);
                expect(info.web_url).toMatch(/^https:\/\//);
                const inputs = {
                    apiUrl,
                    apiKey: conn.apiKey,
                    app,
                    vars: { DELIVERY_LIVE_TEST: String(Date.now()) },
                    secretVars: {},
                    releaseTimeoutSeconds: 300,
                };
                const created = await herokuConfigVarsProvider.create(inputs);
                const vars = await herokuRequest<Record<string, string>>(conn, "GET", `/apps/${app}/config-vars`);
                expect(vars.DELIVERY_LIVE_TEST).toBe(inputs.vars.DELIVERY_LIVE_TEST);
                await herokuConfigVarsProvider.delete!(created.id, created.outs);
                expect(await herokuRequest<Record<string, string>>(conn, "GET", `/apps/${app}/config-vars`)).not.toHaveProperty("DELIVERY_LIVE_TEST");
            }
            await expect(herokuRequest({ ...conn, apiKey: "not-a-key" }, "GET", `/apps/${apps[0]}`)).rejects.toThrow("HTTP 401 unauthorized");
        },
        600_000,
    );
});
