/**
 * GitHub's REST API as Keel calls it: deployment statuses on the stack's
 * environment (deployments.ts), a pull request's one marked comment (comments.ts), the repository from GITHUB_REPOSITORY
 * (repository.ts), GitHub's retry rules (retry.ts) and errors that name the
 * fix (errors.ts). No Pulumi here.
 */
export * from "./comments";
export * from "./deployments";
export * from "./environments";
export * from "./errors";
export * from "./repository";
export * from "./retry";
