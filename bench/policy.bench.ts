import { bench, describe } from "vitest";
import { buildInPromotionStack, hardeningProblems, unpinnedImages } from "../policy/rules";

/**
 * The policy pack runs every rule on every resource of every preview and update. Goal: a few
 * µs per resource, so that the pack's cost is its start-up (ts-node), not the rules.
 * Run: npm run bench.
 */
const DIGEST = `sha256:${"ab".repeat(32)}`;
const container = (i: number) => ({
    name: `c${i}`,
    image: `registry.example.com/group/app-${i}@${DIGEST}`,
    readinessProbe: { httpGet: { path: "/healthz", port: "http" } },
    livenessProbe: { httpGet: { path: "/healthz", port: "http" } },
    resources: { limits: { cpu: "500m", memory: "256Mi" } },
});
const deployment = { spec: { template: { spec: { securityContext: { runAsNonRoot: true }, containers: Array.from({ length: 5 }, (_, i) => container(i)) } } } };
const urn = "urn:pulumi:production::delivery::delivery:targets:KubernetesTarget$kubernetes:apps/v1:Deployment::app-deployment";

describe("policy rules", () => {
    bench("all three rules on a Deployment with 5 containers", () => {
        unpinnedImages("kubernetes:apps/v1:Deployment", deployment);
        hardeningProblems("kubernetes:apps/v1:Deployment", deployment);
        buildInPromotionStack("kubernetes:apps/v1:Deployment", urn, ["production"]);
    });
});
