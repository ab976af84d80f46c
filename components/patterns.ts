/**
 * Patterns more than one layer checks (the config readers, the components, the dynamic
 * providers, the promotion boundary): each is written once, here. Refs and tags live in the
 * ref helpers; GitLab's own rules in components/gitlab/gitlabRules.ts.
 */

/** A git commit SHA as CI and `git rev-parse` print it: 7 to 64 lowercase hex characters. */
export const COMMIT_SHA_PATTERN = /^[0-9a-f]{7,64}$/;

/** The reason given wherever a commit SHA is refused. */
export const COMMIT_SHA_REASON = "must be a git commit SHA (7 to 64 lowercase hex characters)";

/**
 * An http(s) URL: the scheme, a host part (at least one character that is not whitespace, `/`, `?`
 * or `#`), then anything without whitespace. Of the copies there were, this is the one four of
 * five layers used (GitLab's environment `external_url` is checked the same way, `addressable_url`);
 * the config reader's copy also refused a host starting with `$` or `.`, a rule nothing here needs.
 */
export const HTTP_URL_PATTERN = /^https?:\/\/[^\s/?#]+[^\s]*$/;

/** The reason given wherever a setting must be an http(s) URL. */
export const HTTP_URL_REASON = "must be an http:// or https:// URL";
