import { gitOutput } from "../git";
import { LedgerActor } from "./ledger";

/**
 * Who makes a release and from where, for its ledger entry: GitLab's predefined variables in a
 * CI job (https://docs.gitlab.com/ci/variables/predefined_variables/), else the local git user.
 */
export function releaseActor(env: NodeJS.ProcessEnv = process.env, git = (...args: string[]) => gitOutput(process.cwd(), ...args)): LedgerActor {
    const from = (name: string, key: keyof LedgerActor) => (env[name] ? { [key]: env[name] } : {});
    return {
        by: env.GITLAB_USER_LOGIN || git("config", "user.name") || env.USER || "unknown",
        ...from("CI_PIPELINE_URL", "pipelineUrl"),
        ...from("CI_JOB_URL", "jobUrl"),
        ...from("CI_PIPELINE_ID", "pipelineId"),
        ...from("CI_JOB_NAME", "jobName"),
    };
}
