import Ajv, { type ValidateFunction } from "ajv";
import { beforeAll, describe, expect, it } from "vitest";
import { type CiDoc, gitlabCiSchema, readCiYaml } from "./harness";

// GitLab's own docs set environment:url to a variable filled from a dotenv report
// ($DYNAMIC_ENVIRONMENT_URL), which the schema's `format: uri` would reject; draft-07 leaves
// format assertions to the validator, and GitLab's editor does not assert them either.
const ajvOptions = { allErrors: true, strict: false, validateFormats: false } as const;

let validate: ValidateFunction;
let doc: CiDoc;

beforeAll(() => {
    const schema = gitlabCiSchema();
    validate = new Ajv(ajvOptions).compile(schema);
    doc = readCiYaml();
});

const errorsOf = (d: unknown) => (validate(d) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message}`));

describe(".gitlab-ci.yml against GitLab's CI JSON schema", () => {
    it("is GitLab's schema, with the keywords this pipeline uses", () => {
        const schema = gitlabCiSchema();
        expect(schema.$id).toBe("https://gitlab.com/.gitlab-ci.yml");
        const job = schema.definitions.job_template.properties;
        for (const keyword of [
            "rules",
            "needs",
            "environment",
            "resource_group",
            "interruptible",
            "cache",
            "artifacts",
            "allow_failure",
            "parallel",
            "coverage",
        ]) {
            expect(job, keyword).toHaveProperty(keyword);
        }
        expect(schema.properties.workflow.properties).toHaveProperty("auto_cancel");
    });

    it("validates", () => {
        expect(errorsOf(doc)).toEqual([]);
    });

    // The validator must be able to fail, on exactly the keywords the pipeline depends on.
    it.each([
        ["an unknown environment action", (d: CiDoc) => (d["review:stop"].environment.action = "halt")],
        ["a cache upload condition GitLab does not know", (d: CiDoc) => (d.install.cache[0].when = "on_cancel")],
        ["a rule with an unknown `when`", (d: CiDoc) => (d.production.rules[0].when = "sometimes")],
        ["allow_failure exit codes as text", (d: CiDoc) => (d.preview.allow_failure = { exit_codes: "three" })],
        ["an unknown job keyword", (d: CiDoc) => (d.staging.deploy_to = "staging")],
        ["auto_cancel with an unknown mode", (d: CiDoc) => (d.workflow.auto_cancel.on_new_commit = "always")],
        ["a coverage report in a format GitLab does not read", (d: CiDoc) => (d["test:app"].artifacts.reports.coverage_report.coverage_format = "lcov")],
        ["a coverage pattern that is not a /regex/", (d: CiDoc) => (d["test:app"].coverage = "TOTAL.*%")],
        ["a matrix of more than one value per entry as text", (d: CiDoc) => (d["test:app"].parallel.matrix = "3.11 3.12")],
    ])("rejects a copy with %s", (_what, mutate) => {
        const broken = structuredClone(doc);
        mutate(broken);
        expect(errorsOf(broken).length).toBeGreaterThan(0);
    });
});
