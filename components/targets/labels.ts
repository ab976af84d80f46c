/** The recommended `app.kubernetes.io/*` labels, shared by both targets. */
export function standardLabels(appName: string, stack: string, version?: string): Record<string, string> {
    const labels: Record<string, string> = {
        "app.kubernetes.io/name": appName,
        "app.kubernetes.io/instance": `${appName}-${stack}`,
        "app.kubernetes.io/component": "web",
        "app.kubernetes.io/part-of": "delivery",
        "app.kubernetes.io/managed-by": "pulumi",
    };
    if (version !== undefined) {
        labels["app.kubernetes.io/version"] = version.slice(0, 63);
    }
    return labels;
}

/** The subset that never changes for a deployment: a Deployment's selector is immutable. */
export function selectorLabels(appName: string, stack: string): Record<string, string> {
    return {
        "app.kubernetes.io/name": appName,
        "app.kubernetes.io/instance": `${appName}-${stack}`,
    };
}
