/**
 * GitLab project settings as code: dynamic providers over the REST API v4 (`@gitbeaker/rest`),
 * the `GitlabProjectSettings` component that composes them, and the `gitlab:` config reader.
 */
export * from "./gitlabRules";
export { createGitlabClient, callWithRetry, describeGitlabError, gitlabApiError, isGitlabApiError, isRetryable, normalizeGitlabUrl, DEFAULT_RETRY, outcomeUnknown, parseRetryAfter, retryPolicyFromEnv, STACK_HINTS } from "./client";
export type { CallOptions, GitlabApi, GitlabApiError, GitlabClient, GitlabConnection, GitlabHints, RetryPolicy } from "./client";
export { ProjectVariable, projectVariableProvider } from "./projectVariable";
export type { ProjectVariableArgs, ProjectVariableInputs } from "./projectVariable";
export { Environment, environmentProvider } from "./environment";
export type { EnvironmentArgs, EnvironmentInputs, EnvironmentOutputs } from "./environment";
export { ProtectedEnvironment, protectedEnvironmentProvider } from "./protectedEnvironment";
export type { ProtectedEnvironmentArgs, ProtectedEnvironmentInputs } from "./protectedEnvironment";
export { DeployToken, deployTokenProvider } from "./deployToken";
export type { DeployTokenArgs, DeployTokenInputs, DeployTokenOutputs } from "./deployToken";
export { ContainerRegistryCleanupPolicy, cleanupPolicyProvider, RELEASE_TAG_REGEX } from "./cleanupPolicy";
export type { CleanupPolicyArgs, CleanupPolicyInputs, CleanupPolicyOutputs } from "./cleanupPolicy";
export { GitlabProjectSettings, gitlabProjectSettingsProblems } from "./gitlabProjectSettings";
export type {
    GitlabCleanupPolicyArgs,
    GitlabConnectionArgs,
    GitlabDeployTokenArgs,
    GitlabProjectSettingsArgs,
    GitlabProtectionArgs,
    GitlabVariableArgs,
    PullCredentials,
} from "./gitlabProjectSettings";
export { GITLAB_KEYS, GITLAB_NAMESPACE, GitlabConfigError, parseGitlabSettings, readGitlabSettings, readRawGitlabConfig } from "./gitlabConfig";
export type { GitlabKey, GitlabSettings } from "./gitlabConfig";
