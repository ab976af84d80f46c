import { invalidParams } from "./http";
import { type DoubleApp } from "./model";

/**
 * [config-vars] "Config Vars Update", PATCH /apps/{app_id_or_name}/config-vars: "Update config-vars
 * for app. You can update existing config-vars by setting them again, and remove by setting it to
 * null." The answer is the app's whole config ("Config Vars Info"). Every change makes a release
 * ("Heroku creates a new release every time you change a config var", Dev Center "Releases"); the
 * description names the vars set or removed ("Set FOO config vars", "Remove FOO config vars").
 * A value that is neither a string nor null is refused (the schema: `"type": ["string", "null"]`).
 */
export function updateConfigVars(app: DoubleApp, body: unknown): { changed: string[]; removed: string[] } {
    if (!body || typeof body !== "object" || Array.isArray(body)) {
        throw invalidParams("Invalid config vars: expected an object of names to strings or null.");
    }
    const changed: string[] = [];
    const removed: string[] = [];
    for (const [name, value] of Object.entries(body as Record<string, unknown>)) {
        if (value !== null && typeof value !== "string") {
            throw invalidParams(`Invalid config var ${name}: the value must be a string or null.`);
        }
    }
    for (const [name, value] of Object.entries(body as Record<string, string | null>)) {
        if (value === null) {
            if (name in app.configVars) {
                delete app.configVars[name];
                removed.push(name);
            }
        } else if (app.configVars[name] !== value) {
            app.configVars[name] = value;
            changed.push(name);
        }
    }
    return { changed, removed };
}
