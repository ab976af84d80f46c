import * as pulumi from "@pulumi/pulumi";
import { ArgsOf } from "../dynamicArgs";
import { isDigestPinned, parsePinnedRef } from "../refs";
import { LedgerCandidate, LedgerEntry, appendEntry, isNewRelease, origins } from "./ledger";
import { DynamicResource } from "../dynamicResource";

/**
 * The stack's release ledger as one resource: its state holds every entry the stack ever made
 * (ledger.ts owns numbering and lookup), so it lives on every backend and travels with
 * `pulumi stack export`. Its input is the release the program describes now; the provider adds an
 * entry only when that is not the release that runs (a re-run changes nothing) and never changes
 * an entry. A refresh keeps what the state holds: the ledger has no outside copy to compare with.
 *
 * The provider functions are serialized into the state; what they call from ledger.ts is
 * serialized with them.
 */

export interface ReleaseLedgerInputs {
    readonly candidate: LedgerCandidate;
}

export interface ReleaseLedgerOutputs extends ReleaseLedgerInputs {
    /**
     * Every entry, oldest first, packed into one JSON string (packEntries). As nested objects,
     * 1,000 entries made every no-op preview and up about 1.5 s slower here (bench/ledger.ts:
     * each crossing between engine, provider and program converts every field to a protobuf
     * Struct and back); one string crosses whole.
     */
    readonly entriesJson: string;
    /** Random hex made with the ledger; it keeps the release tags of a stack made again under the same name apart. */
    readonly ledgerId: string;
}

export type ReleaseLedgerArgs = ArgsOf<ReleaseLedgerInputs>;

/** What entriesJson holds: the entries without their settings, and each distinct settings once, by config hash. */
interface PackedLedger {
    readonly entries: Array<Omit<LedgerEntry, "settings">>;
    readonly settings: Record<string, LedgerEntry["settings"]>;
}

/**
 * The entries as entriesJson stores them. Settings are stored once per config hash (the hash of
 * exactly those settings), since most releases of a stack share its config: 1,000 releases of
 * one config keep one copy.
 */
export function packEntries(entries: readonly LedgerEntry[]): string {
    const packed: PackedLedger = { entries: [], settings: {} };
    for (const { settings, ...entry } of entries) {
        packed.settings[entry.configHash] ??= settings;
        packed.entries.push(entry);
    }
    return JSON.stringify(packed);
}

export function unpackEntries(json: string): LedgerEntry[] {
    const packed = JSON.parse(json) as PackedLedger;
    return packed.entries.map((e) => ({ ...e, settings: packed.settings[e.configHash] ?? { env: {}, secrets: {} } }));
}

/**
 * The entries an old state holds. A state written before the ledger (a ReleaseRecord, found by
 * the alias) becomes v1, with its settings unknown.
 */
export function entriesOf(state: Partial<ReleaseLedgerOutputs>): LedgerEntry[] {
    const olds = state as Partial<ReleaseLedgerOutputs> & Record<string, unknown>;
    if (typeof olds.entriesJson === "string") {
        return unpackEntries(olds.entriesJson);
    }
    // The first ledgers of this change kept the entries as an array.
    if (Array.isArray(olds.entries)) {
        return olds.entries as LedgerEntry[];
    }
    if (typeof olds.releaseId !== "string" || typeof olds.imageRef !== "string") {
        return [];
    }
    const imageRef = olds.imageRef;
    return [
        {
            number: 1,
            version: "v1",
            releaseId: olds.releaseId,
            imageRef,
            digest: parsePinnedRef(imageRef)?.digest ?? "",
            commitSha: String(olds.commitSha ?? ""),
            configHash: String(olds.configHash ?? ""),
            origin: String(olds.origin ?? origins.build),
            by: "unknown (recorded before the ledger)",
            at: String(olds.createdAt ?? new Date(0).toISOString()),
            settings: { env: {}, secrets: {} },
        },
    ];
}

export const releaseLedgerProvider: pulumi.dynamic.ResourceProvider = {
    async check(_olds: ReleaseLedgerInputs, news: ReleaseLedgerInputs) {
        const c = news.candidate;
        const unknown = JSON.stringify(c ?? null).includes(pulumi.runtime.unknownValue);
        const failures =
            unknown || isDigestPinned(c?.imageRef ?? "")
                ? []
                : [
                      {
                          property: "candidate",
                          reason: `release image "${c?.imageRef}" is not pinned by digest; a release names exactly one image (repo@sha256:...)`,
                      },
                  ];
        return { inputs: news, failures };
    },
    async create(inputs: ReleaseLedgerInputs) {
        const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
        const ledgerId = randomBytes(3).toString("hex");
        const entries = appendEntry([], inputs.candidate, new Date().toISOString());
        return { id: ledgerId, outs: { ...inputs, entriesJson: packEntries(entries), ledgerId } };
    },
    async diff(_id: string, olds: ReleaseLedgerOutputs, news: ReleaseLedgerInputs) {
        const entries = entriesOf(olds);
        if (JSON.stringify(news.candidate ?? null).includes(pulumi.runtime.unknownValue)) {
            return { changes: true };
        }
        // A rollback the ledger cannot honour stops the preview, before anything changes.
        appendEntry(entries, news.candidate, "");
        return { changes: typeof olds.entriesJson !== "string" || isNewRelease(entries, news.candidate) };
    },
    async update(_id: string, olds: ReleaseLedgerOutputs, news: ReleaseLedgerInputs) {
        const { randomBytes } = require("node:crypto") as typeof import("node:crypto");
        const entries = appendEntry(entriesOf(olds), news.candidate, new Date().toISOString());
        return { outs: { ...news, entriesJson: packEntries(entries), ledgerId: olds.ledgerId ?? randomBytes(3).toString("hex") } };
    },
    async read(id: string, props: ReleaseLedgerOutputs) {
        return { id, props };
    },
    // The ledger goes with the stack's state; the releases' registry tags stay (see RegistryTag).
    async delete() {},
};

export class ReleaseLedger extends DynamicResource {
    declare readonly entriesJson: pulumi.Output<string>;
    declare readonly ledgerId: pulumi.Output<string>;

    constructor(name: string, args: ReleaseLedgerArgs, opts?: pulumi.CustomResourceOptions) {
        super(releaseLedgerProvider, name, { ...args, entriesJson: undefined, ledgerId: undefined }, opts, "release", "ReleaseLedger");
    }

    /** Every entry, oldest first. */
    get entries(): pulumi.Output<LedgerEntry[]> {
        return this.entriesJson.apply((json) => entriesOf({ entriesJson: json }));
    }
}
