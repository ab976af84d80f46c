import { Stack } from "@pulumi/pulumi/automation";
import { afterAll, beforeAll } from "vitest";
import { Project, StackConfig, ensureEnvironment } from "./project";

/** The project copies and helpers (test/support/project.ts, also used by bench/), and the vitest fixture around them. */
export * from "./project";

export interface UseStacksOptions {
    /** Runs first in beforeAll, in place of `ensureEnvironment()` (which runs when this is not given). */
    setup?: () => void;
    /** Runs on the new project copy before its stacks are made. */
    prepare?: (project: Project) => void;
    /**
     * Runs in afterAll once the stacks are destroyed. When given, a failed destroy fails the
     * run; without it, destroy errors are ignored. The project copy is removed either way.
     */
    afterDestroy?: () => void;
}

/**
 * One project copy for a describe block: beforeAll makes it and its stacks (in the order
 * given), afterAll destroys the stacks (in reverse order) and removes the copy. The returned
 * object holds the project and each stack by its key once beforeAll has run.
 */
export function useStacks<K extends string>(
    stacks: (project: Project) => Record<K, [name: string, config: StackConfig]>,
    options: UseStacksOptions = {},
): { readonly project: Project } & { readonly [key in K]: Stack } {
    const fixture = {} as { project: Project } & Record<K, Stack>;
    const made: Stack[] = [];
    beforeAll(async () => {
        if (options.setup) {
            options.setup();
        } else {
            ensureEnvironment();
        }
        const project = new Project();
        fixture.project = project;
        options.prepare?.(project);
        for (const [key, [name, config]] of Object.entries(stacks(project)) as Array<[K, [string, StackConfig]]>) {
            const stack = await project.stack(name, config);
            fixture[key] = stack as (typeof fixture)[K];
            made.push(stack);
        }
    });
    afterAll(async () => {
        try {
            for (const stack of [...made].reverse()) {
                if (options.afterDestroy) {
                    await stack.destroy();
                } else {
                    await stack.destroy().catch(() => undefined);
                }
            }
            options.afterDestroy?.();
        } finally {
            fixture.project?.cleanup();
        }
    });
    return fixture;
}
