/**
 * The Heroku double: an in-process Platform API (server.ts: auth, version header, rate limits,
 * routes; apps.ts, formation.ts, releases.ts, configVars.ts one per resource family; http.ts the
 * error bodies; model.ts the state) and, for registry.heroku.com, a docker-registry with Heroku's
 * login shape (registry.ts), and the apps' web dynos as Docker containers on this host
 * (dynos.ts). Each rule cites Heroku's documentation; none is taken from our code.
 */
export type { DoubleApp, DoubleRelease, LoggedRequest } from "./model";
export { HerokuDouble, startHerokuDouble } from "./server";
export { type HerokuRegistry, startHerokuRegistry } from "./registry";
export { DYNO_LABEL, WebDynos, dynoName } from "./dynos";
