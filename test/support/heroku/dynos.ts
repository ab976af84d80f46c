import Docker from "dockerode";
import { freePort } from "../project";
import { type DoubleApp } from "./model";

/**
 * [runtime] The double's web dynos: each app's `web` process as one Docker container on this host,
 * run the way Dev Center's "Container Registry & Runtime (Docker Deploys)" describes Heroku's
 * runtime (devcenter.heroku.com/articles/container-registry-and-runtime, "Dockerfile commands and
 * runtime"): the image's CMD runs; "the web process must listen for HTTP traffic on $PORT, which
 * is set by Heroku"; EXPOSE is not respected; and the app's config vars are its environment
 * ("Config vars are exposed to your app's code as environment variables", Dev Center
 * "Configuration and Config Vars", devcenter.heroku.com/articles/config-vars).
 *
 * - the image is pulled from the registry playing registry.heroku.com (user `_`, the API key), by
 *   the manifest digest whose config digest is the image id the formation names;
 * - PORT is a free loopback port the double picks once per app, and the container is published on
 *   127.0.0.1:<PORT>: that is the app's `web_url`, `http://127.0.0.1:<PORT>/` (Heroku's router
 *   keeps an app's web_url across releases; so does the double);
 * - a new release replaces the container: the old one is removed, then the new one started (the
 *   port is the app's, so they cannot overlap; Heroku also stops old dynos before new ones start
 *   unless Preboot is on, devcenter.heroku.com/articles/preboot). Then the double waits until the
 *   dyno answers HTTP on its port, or exits, or 30 s pass (Heroku's own boot limit is 60 s, error
 *   R10); the release's status does not depend on it: a dyno that crashes does not fail its
 *   release on Heroku either (the app answers 503 then, what the verification sees);
 * - every container is named `delivery-heroku-double-<app>` and labelled
 *   `delivery.heroku-double=<app>`; `stopAll` (the double's stop) removes them and the image refs
 *   they were pulled by. Leftovers of a killed run: `docker rm -f $(docker ps -aq --filter label=delivery.heroku-double)`.
 */
export const DYNO_LABEL = "delivery.heroku-double";
const BOOT_WAIT_MS = 30_000;

export interface DynoRegistry {
    /** `127.0.0.1:<port>`: the registry's address as the Docker engine pulls from it (loopback: plain HTTP). */
    readonly server: string;
    readonly username: string;
    readonly password: string;
}

export interface RunningDyno {
    readonly container: string;
    /** The image ref it was pulled by, `<registry>/<app>/web@sha256:…`. */
    readonly image: string;
    readonly port: number;
}

export function dynoName(app: string): string {
    return `delivery-heroku-double-${app}`;
}

export class WebDynos {
    /** What runs, by app. */
    readonly running = new Map<string, RunningDyno>();
    private readonly ports = new Map<string, number>();
    private readonly pulled = new Set<string>();

    constructor(
        private readonly registry: DynoRegistry,
        private readonly docker: Docker = new Docker(),
    ) {}

    /** Runs `<registry>/<repository>@<manifest>` as the app's web dyno with `config` and PORT; sets the app's web_url. */
    async run(app: DoubleApp, repository: string, manifest: string, config: Record<string, string>): Promise<RunningDyno> {
        const image = `${this.registry.server}/${repository}@${manifest}`;
        await this.pull(image);
        const port = this.ports.get(app.name) ?? (await freePort());
        this.ports.set(app.name, port);
        const name = dynoName(app.name);
        await this.remove(name);
        const container = await this.docker.createContainer({
            name,
            Image: image,
            Env: [...Object.entries(config).map(([k, v]) => `${k}=${v}`), `PORT=${port}`],
            Labels: { [DYNO_LABEL]: app.name, [`${DYNO_LABEL}.process`]: "web" },
            ExposedPorts: { [`${port}/tcp`]: {} },
            HostConfig: { PortBindings: { [`${port}/tcp`]: [{ HostIp: "127.0.0.1", HostPort: String(port) }] } },
        });
        await container.start();
        const dyno = { container: container.id, image, port };
        this.running.set(app.name, dyno);
        app.web_url = `http://127.0.0.1:${port}/`;
        await this.booted(container, port);
        return dyno;
    }

    /** Removes every dyno and the image refs they were pulled by. */
    async stopAll(): Promise<void> {
        for (const app of [...this.running.keys()]) {
            await this.remove(dynoName(app));
            this.running.delete(app);
        }
        for (const image of this.pulled) {
            await this.docker
                .getImage(image)
                .remove({ noprune: true })
                .catch(() => undefined);
        }
        this.pulled.clear();
    }

    private async pull(image: string): Promise<void> {
        const stream = await this.docker.pull(image, {
            authconfig: { username: this.registry.username, password: this.registry.password, serveraddress: this.registry.server },
        });
        await new Promise<void>((resolve, reject) =>
            this.docker.modem.followProgress(
                stream,
                (err: Error | null, events: Array<{ error?: string }>) => {
                    const failed = err?.message ?? events.find((e) => e.error)?.error;
                    return failed ? reject(new Error(`pull ${image}: ${failed}`)) : resolve();
                },
                () => undefined,
            ),
        );
        this.pulled.add(image);
    }

    private async remove(name: string): Promise<void> {
        await this.docker
            .getContainer(name)
            .remove({ force: true })
            .catch((e: { statusCode?: number }) => {
                if (e.statusCode !== 404) throw e;
            });
    }

    /** Until the dyno answers HTTP on its port (any status), exits, or BOOT_WAIT_MS pass. */
    private async booted(container: Docker.Container, port: number): Promise<void> {
        const deadline = Date.now() + BOOT_WAIT_MS;
        while (Date.now() < deadline) {
            const answered = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) }).then(
                () => true,
                () => false,
            );
            if (answered) return;
            const state = await container.inspect().then(
                (i) => i.State,
                () => undefined,
            );
            if (!state?.Running) return;
            await new Promise((r) => setTimeout(r, 200));
        }
    }
}
