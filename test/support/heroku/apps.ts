import { type DoubleApp } from "./model";

/**
 * [apps] "App Info", GET /apps/{app_id_or_name}: the app with, among others, `id`, `name`,
 * `stack` and `web_url` ("web URL of app", e.g. https://example.herokuapp.com/).
 */
export function appEntity(app: DoubleApp): unknown {
    return {
        id: app.id,
        name: app.name,
        web_url: app.web_url,
        stack: { name: "container" },
        build_stack: { name: "container" },
        released_at: app.releases.at(-1)?.created_at ?? null,
    };
}
