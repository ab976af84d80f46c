/** The double's state: what Heroku keeps per app, as the Platform API reference describes its resources. */

export interface DoubleRelease {
    /** [releases] uuid. */
    id: string;
    /** [releases] "unique version assigned to the release", 1, 2, … per app. */
    version: number;
    /** [releases] "current status of the release": pending, succeeded, failed (one of "failed", "pending", "succeeded", "expired"). */
    status: "pending" | "succeeded" | "failed";
    description: string;
    /** [releases] "Release command output will be available from this URL as a stream"; null when there is none. */
    output_stream_url: string | null;
    created_at: string;
    updated_at: string;
    /** The double's own: how many more Release Info reads it stays pending, and how it ends. */
    pendingReads: number;
    outcome: "succeeded" | "failed";
    /** The double's own: the release phase's output (served at output_stream_url). */
    output: string[];
    /** What the release runs: the formation's images, and the config vars, at its making. */
    images: Record<string, string>;
    config: Record<string, string>;
}

export interface DoubleApp {
    id: string;
    name: string;
    /** [apps] "web URL of app". */
    web_url: string;
    /** [config-vars] The app's config vars. */
    configVars: Record<string, string>;
    /** [formation] Process type -> docker image id (what Formation Batch Update named). */
    formation: Record<string, { docker_image: string; quantity: number; size: string }>;
    releases: DoubleRelease[];
}

export interface LoggedRequest {
    method: string;
    path: string;
    accept?: string;
    range?: string;
    body?: unknown;
    status: number;
}
