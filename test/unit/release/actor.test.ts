import { describe, expect, it } from "vitest";
import { releaseActor } from "../../../components/release/actor";

describe("releaseActor", () => {
    it("names the GitLab user and the pipeline and job in CI", () => {
        const env = {
            GITLAB_USER_LOGIN: "alice",
            CI_PIPELINE_URL: "https://gitlab.example.com/g/app/-/pipelines/77",
            CI_JOB_URL: "https://gitlab.example.com/g/app/-/jobs/901",
            CI_PIPELINE_ID: "77",
            CI_JOB_NAME: "production",
        };
        expect(releaseActor(env, () => "git user")).toEqual({
            by: "alice",
            pipelineUrl: env.CI_PIPELINE_URL,
            jobUrl: env.CI_JOB_URL,
            pipelineId: "77",
            jobName: "production",
        });
    });

    it("is the local git user outside CI, else $USER", () => {
        expect(releaseActor({ USER: "root" }, () => "Ada Lovelace")).toEqual({ by: "Ada Lovelace" });
        expect(releaseActor({ USER: "root" }, () => undefined)).toEqual({ by: "root" });
        expect(releaseActor({}, () => undefined)).toEqual({ by: "unknown" });
    });
});
