/**
 * The vendors' HTTP APIs as Keel calls them: a client per vendor (Neon, Fly.io,
 * Render, Vercel) over one retry policy (429/423/5xx with backoff within the vendor's
 * limits, never repeating a create whose answer was lost) and one credential rule
 * (the stack's secret config over the environment variable). No Pulumi here: the
 * dynamic providers make a client per call. vercelDeployments is pure: which
 * production deployment was live when, and whether Vercel would let a rollback
 * put it back (planned before anything is touched). github: the deployment statuses
 * a deploy's report sets (through @octokit/rest, with GitHub's own retry rules).
 */
export * as credentials from "./credentials";
export * as fly from "./fly";
export * as github from "./github";
export * as http from "./http";
export * as neon from "./neon";
export * as render from "./render";
export * as retry from "./retry";
export * as vercel from "./vercel";
export * as vercelDeployments from "./vercelDeployments";
