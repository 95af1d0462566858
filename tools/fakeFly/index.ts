/**
 * A local, stateful fake of the Fly.io Machines API (v1) for tests and bench:rollback: a node
 * http server on 127.0.0.1 (random port) that answers in the shapes of
 * shared/specs/fly-machines.openapi.yml (test/vendors/flySpec.test.ts checks).
 *
 * - Apps (create answers 201 with no body, as Fly does), machines, leases,
 *   secrets with a version counter, IP assignments.
 * - Machines advance by being looked at, never by the wall clock. A machine
 *   goes created -> starting -> started: its reads (GET of the machine; the
 *   create's answer and lists do not count) see `starting` `startPolls`
 *   times (default 1), then `started` (stopped at once with skip_launch).
 *   Stop goes stopping -> stopped and delete destroying -> destroyed, each
 *   after `stopPolls` reads. Updates make a new `instance_id` (the version)
 *   and relaunch the machine; delete of a running machine needs force.
 *   Infinity for a knob: the machine never gets there.
 * - Machines_wait never blocks: it plays the machine's pending transitions
 *   forward (as if the time had passed) and answers 200 once the state (and
 *   version) is reached, or 408 at once when they never get there (a launch
 *   that ends `failed`, a start that hangs, a state nothing leads to).
 * - A machine records the app's secrets version it was created or updated
 *   with (`secretsVersion`): setting secrets does not reach machines.
 * - Checks: every check in config.checks reads `critical` for the first
 *   `checksPolls` reads (default 1) after the machine reached `started`,
 *   then `passing`, except for images given to neverHealthy(). Seeded
 *   machines pass at once. failNextStart(id): the machine's next launch ends
 *   in `failed` instead of `started`.
 * - Leases: a nonce and an expiry on the fake's clock (`clock`, which moves
 *   only when the test advances it); 409 when someone else holds it, and any
 *   mutation of a leased machine without the right fly-machine-lease-nonce
 *   header is 409 too. leaseAsOther(id, { releaseAfterConflicts: n }): the
 *   other holder lets go after refusing n requests.
 * - Fault injection: inject() queues 409/429/5xx answers (with Retry-After)
 *   for a method and path; dropResponses() carries a request out and then
 *   destroys the socket instead of answering.
 * - Optionally (rateLimit), Fly's rate limit: 1 request/s of the fake's clock
 *   per action per machine with a burst of 3, answered 429 with Retry-After.
 *   The fake takes the client at its word that it waits as asked: a refusal
 *   credits its bucket with the seconds it asked for, so the retry passes.
 *   Whether a client really waits is checked on its own scheduler (the
 *   "retrying in 1s" it reports), not by timing it.
 * - Every request is logged with its nonce header, body, status and response.
 */
export { FakeFly, setFlyEnv } from "./server";
export type { FakeFlyApp, FakeFlyCertificate, FakeFlyMachine, FakeFlyOptions, FlyFault, LoggedFlyRequest } from "./types";
