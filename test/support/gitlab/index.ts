/**
 * The GitLab double (an in-process GitLab REST API v4), split by resource family: server.ts (the
 * HTTP server, auth, faults, rate limits, routes), projects.ts (the project and its cleanup
 * policy), variables.ts, environments.ts, protectedEnvironments.ts, tokens.ts (deploy tokens),
 * notes.ts (merge request notes), resourceGroups.ts (CI/CD resource groups), http.ts (params, errors, pagination), model.ts (the state).
 * It is written from GitLab's documentation and source (server.ts lists what each tag cites),
 * never from the code under test, which it does not import.
 */
export type {
    DoubleCleanupPolicy,
    DoubleDeployToken,
    DoubleEnvironment,
    DoubleNote,
    DoubleProject,
    DoubleProtectedEnvironment,
    DoubleResourceGroup,
    DoubleUser,
    DoubleVariable,
    LoggedRequest,
} from "./model";
export { parseQuery } from "./http";
export { DOUBLE_TOKEN, GitlabDouble, startDouble } from "./server";
export { useDouble, useRetryPolicy } from "./hooks";
export { handMadeVariable } from "./fixtures";
