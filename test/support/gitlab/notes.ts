import { HttpError, type Params } from "./http";
import { type DoubleNote, type DoubleProject } from "./model";
import { type GitlabDouble } from "./server";

export function noteEntity(n: DoubleNote, iid: number, mrId: number): unknown {
    return {
        id: n.id,
        type: null,
        body: n.body,
        author: { id: n.author.id, username: n.author.username, name: n.author.name },
        created_at: n.created_at,
        updated_at: n.updated_at,
        system: false,
        noteable_id: mrId,
        noteable_type: "MergeRequest",
        noteable_iid: iid,
        resolvable: false,
        confidential: false,
        internal: false,
    };
}

export function findMergeRequest(d: GitlabDouble, project: DoubleProject, iid: string) {
    const mr = /^[0-9]+$/.test(iid) ? project.mergeRequests.get(Number(iid)) : undefined;
    if (!mr) {
        throw new HttpError(404, { message: "404 Merge Request Not Found" });
    }
    return mr;
}

export function findNote(d: GitlabDouble, notes: DoubleNote[], id: string): DoubleNote {
    const note = /^[0-9]+$/.test(id) ? notes.find((n) => n.id === Number(id)) : undefined;
    if (!note) {
        throw new HttpError(404, { message: "404 Note Not Found" });
    }
    return note;
}

export function noteBody(d: GitlabDouble, params: Params): string {
    if (params.body === undefined) {
        throw new HttpError(400, { error: "body is missing" });
    }
    const body = String(params.body);
    // [notes] "body: The content of a note. Limited to 1,000,000 characters."
    if (body.length > 1_000_000) {
        throw new HttpError(400, { message: { note: ["is too long (maximum is 1000000 characters)"] } });
    }
    if (body.trim() === "") {
        throw new HttpError(400, { message: { note: ["can't be blank"] } });
    }
    return body;
}
