/**
 * Patterns more than one layer checks (the config readers, the components, the dynamic
 * providers, the promotion boundary): each is written once, here. Refs and tags live in the
 * ref helpers; GitLab's own rules in components/gitlab/gitlabRules.ts.
 */

/** A git commit SHA as CI and `git rev-parse` print it: 7 to 64 lowercase hex characters. */
export const COMMIT_SHA_PATTERN = /^[0-9a-f]{7,64}$/;

/** The reason given wherever a commit SHA is refused. */
export const COMMIT_SHA_REASON = "must be a git commit SHA (7 to 64 lowercase hex characters)";
