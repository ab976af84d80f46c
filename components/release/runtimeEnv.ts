/**
 * The environment the program itself gives every release's container, on every target: its
 * release id and the port to listen on. The settings may not set these names (config.ts
 * refuses them by RESERVED_ENV_NAMES), so the app always sees the program's values.
 */
export function runtimeEnv<Id>(releaseId: Id, containerPort: number): { readonly RELEASE_ID: Id; readonly PORT: string } {
    return { RELEASE_ID: releaseId, PORT: String(containerPort) };
}

/** `RELEASE_ID`, `PORT`: the names runtimeEnv sets. */
export const RESERVED_ENV_NAMES: readonly string[] = Object.keys(runtimeEnv("", 0));

/** A name the app's settings may use as an environment variable. */
export const ENV_NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*$/;
