/** Kubernetes quantity suffixes and what each multiplies by. */
const QUANTITY_SUFFIX: Record<string, number> = { "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3 };

/** The number a Kubernetes quantity such as `500m` or `128Mi` stands for; NaN for anything else. */
export function quantityValue(q: string): number {
    const m = /^([0-9]+(?:\.[0-9]+)?)(m|Ki|Mi|Gi|k|M|G)?$/.exec(q);
    if (!m) {
        return NaN;
    }
    return Number(m[1]) * QUANTITY_SUFFIX[m[2] ?? ""];
}
