import { invalidParams } from "./http";
import { type DoubleApp } from "./model";

/**
 * [formation] "Formation Batch Update", PATCH /apps/{app_id_or_name}/formation with
 * `{"updates": [{"type": "web", "docker_image": "<image id>"}]}` ("Batch update process types";
 * `type` is required in each update). Releasing an image this way is Dev Center's "Container
 * Registry & Runtime", "Releasing an image": the image id is `docker inspect
 * registry.heroku.com/<app>/web --format={{.Id}}`, and the image must have been pushed to
 * `registry.heroku.com/<app>/<process type>` first. The double checks that with `imageIdsOf`
 * (the image ids the app's repository for that process type holds) and refuses another id with
 * 422 invalid_params (the message is the double's own). The answer is the updated formation list.
 */
export async function updateFormation(
    app: DoubleApp,
    body: unknown,
    imageIdsOf: (repository: string) => Promise<string[]>,
): Promise<{ updated: string[]; entities: unknown[] }> {
    const updates = (body as { updates?: unknown })?.updates;
    if (!Array.isArray(updates) || updates.length === 0) {
        throw invalidParams("Invalid params: updates must be a non-empty array.");
    }
    const updated: string[] = [];
    for (const u of updates as Array<{ type?: unknown; docker_image?: unknown; quantity?: unknown; size?: unknown }>) {
        if (typeof u.type !== "string" || !/^[-\w]{1,128}$/.test(u.type)) {
            throw invalidParams("Invalid params: type is required in each update.");
        }
        if (u.docker_image !== undefined) {
            const ids = await imageIdsOf(`${app.name}/${u.type}`);
            if (typeof u.docker_image !== "string" || !ids.includes(u.docker_image)) {
                throw invalidParams(`Invalid docker image ${String(u.docker_image)}: push it to registry.heroku.com/${app.name}/${u.type} first.`);
            }
        }
        const current = app.formation[u.type] ?? { docker_image: "", quantity: u.type === "web" ? 1 : 0, size: "basic" };
        app.formation[u.type] = {
            docker_image: typeof u.docker_image === "string" ? u.docker_image : current.docker_image,
            quantity: typeof u.quantity === "number" ? u.quantity : current.quantity,
            size: typeof u.size === "string" ? u.size : current.size,
        };
        if (u.docker_image !== undefined) {
            updated.push(u.type);
        }
    }
    const entities = Object.entries(app.formation).map(([type, f]) => ({
        app: { id: app.id, name: app.name },
        type,
        quantity: f.quantity,
        size: f.size,
        command: "",
    }));
    return { updated, entities };
}
