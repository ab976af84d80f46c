import { PolicyPack, ResourceValidationPolicy } from "@pulumi/policy";
import { buildInPromotionStack, hardeningProblems, ungatedRelease, unpinnedImages } from "./rules";

/**
 * The delivery policy pack: what must hold for every stack, whatever program registered
 * the resources. Run it with `pulumi preview|up --policy-pack policy`; the CI scripts and
 * `scripts/main` do. Values unknown during a preview (an image not built yet) make
 * @pulumi/policy skip the check then; `up` checks the known values before any change.
 */

function fromRule(name: string, description: string, rule: (type: string, props: Record<string, unknown>) => string[]): ResourceValidationPolicy {
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        validateResource: (args, reportViolation) => {
            for (const problem of rule(args.type, args.props)) {
                reportViolation(problem);
            }
        },
    };
}

/**
 * A rule of promotion-only stacks (policy config `stacks`, default ["production"], matched against
 * each resource's URN): the config, its default and how it is read are written once, here.
 */
function promotionOnlyRule(
    name: string,
    description: string,
    rule: (type: string, urn: string, props: Record<string, unknown>, stacks: string[]) => string[],
): ResourceValidationPolicy {
    const DEFAULT_STACKS = ["production"];
    return {
        name,
        description,
        enforcementLevel: "mandatory",
        configSchema: { properties: { stacks: { type: "array", items: { type: "string" }, default: DEFAULT_STACKS } } },
        validateResource: (args, reportViolation) => {
            const stacks = args.getConfig<{ stacks?: string[] }>().stacks ?? DEFAULT_STACKS;
            for (const problem of rule(args.type, args.urn, args.props, stacks)) {
                reportViolation(problem);
            }
        },
    };
}

new PolicyPack("delivery", {
    policies: [
        fromRule("images-pinned-by-digest", "Every container runs an image named by digest (repo@sha256:...), never by a mutable tag.", unpinnedImages),
        fromRule(
            "kubernetes-deployments-hardened",
            "Deployment containers have readiness and liveness probes, CPU and memory limits, and run as non-root.",
            hardeningProblems,
        ),
        promotionOnlyRule(
            "promotion-only-stacks-never-build",
            "Stacks that promote a release (production by default) register no image build.",
            (type, urn, _props, stacks) => buildInPromotionStack(type, urn, stacks),
        ),
        promotionOnlyRule(
            "promotion-only-stacks-promote-verified-releases",
            "Stacks that promote a release (production by default) record only a release the promotion gate let through: verified upstream, or an explicit override.",
            ungatedRelease,
        ),
    ],
});
