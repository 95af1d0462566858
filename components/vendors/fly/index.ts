/**
 * The Fly.io Machines API client as Keel uses it (issue 5's Fly backend): a
 * small typed client over Node's global fetch for the operations in
 * shared/specs/ENDPOINTS.md (apps, machines, leases, secrets, IP assignments,
 * certificates), with the vendor retry policy (components/vendors/retry.ts),
 * errors that name the request and Fly's error text without the token, and
 * waits built on `Machines_wait`.
 *
 * - 429 is waited out within the policy's budget, honouring Retry-After (Fly
 *   limits about 1 request/s per action per machine, burst 3).
 * - 409 (a lease held by someone else, or a mutation without the lease's
 *   nonce) is retried with backoff for `leaseConflictBudgetMs`, then thrown.
 * - 5xx and network errors are retried a bounded number of times, except a
 *   POST that may have been processed, unless that POST is idempotent (start,
 *   stop, secrets, lease release...).
 *
 * transport.ts sends one request with those retries; apps.ts holds the calls
 * about an app (apps, secrets, IPs, certificates); machines.ts the machines,
 * leases and waits, and FlyClient, the whole client.
 */
export * from "./apps";
export * from "./credentials";
export * from "./errors";
export * from "./machines";
export * from "./transport";
export * from "./types";
