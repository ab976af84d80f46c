import * as pulumi from "@pulumi/pulumi";

/**
 * A component's invariants are one pure `…Problems(args)` function next to the component. The
 * constructor calls it before anything is registered; the config reader calls it too, naming
 * each problem's arg as the setting it came from, so the rule and its wording live once.
 */

/** One broken invariant: the arg it is about (a path such as `resources.cpuRequest`) and a complete sentence. */
export interface ArgProblem {
    readonly arg: string;
    readonly message: string;
}

/** How a message names an arg: a component by the arg's path, the config reader by its key. */
export type ArgName = (arg: string) => string;

/** The component's own naming: the arg path as written in its Args. */
export const argPath: ArgName = (arg) => arg;

/** Throws every problem at once, naming the component; called before it registers itself. */
export function refuseProblems(type: string, name: string, problems: readonly ArgProblem[], opts?: pulumi.ResourceOptions): void {
    if (problems.length > 0) {
        throw new pulumi.ResourceError(`${type} "${name}": ${problems.map((p) => p.message).join("; ")}`, opts?.parent);
    }
}

/** A whole number from `min` to `max`, or the problem with it. */
export function wholeNumberProblem(arg: string, value: number | undefined, min: number, max: number, name: ArgName = argPath): ArgProblem[] {
    return value === undefined || (Number.isInteger(value) && value >= min && value <= max)
        ? []
        : [{ arg, message: `${name(arg)}: must be a whole number from ${min} to ${max} (got ${value})` }];
}

/**
 * A component that refuses its args' problems before it registers itself, so that a broken
 * invariant stops the program with nothing registered. `type` is the component's type token;
 * the message names the component by its last part (`Registry "registry": …`).
 */
export abstract class CheckedComponent extends pulumi.ComponentResource {
    constructor(type: string, name: string, problems: readonly ArgProblem[], opts?: pulumi.ComponentResourceOptions) {
        refuseProblems(type.split(":").pop()!, name, problems, opts);
        super(type, name, {}, opts);
    }
}
