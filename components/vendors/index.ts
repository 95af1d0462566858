/**
 * The vendors' HTTP APIs as Keel calls them: a client per vendor (Neon, Fly.io,
 * Render) over one retry policy (429/423/5xx with backoff within the vendor's
 * limits, never repeating a create whose answer was lost) and one credential rule
 * (the stack's secret config over the environment variable). No Pulumi here: the
 * dynamic providers make a client per call.
 */
export * as credentials from "./credentials";
export * as fly from "./fly";
export * as neon from "./neon";
export * as render from "./render";
export * as retry from "./retry";
