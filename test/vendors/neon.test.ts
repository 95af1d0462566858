/**
 * The Neon client over HTTP, against the local fake: retries as the policy
 * says, errors that name the request and never the key, waiting for
 * operations, and where the API key comes from.
 */
import { strict as assert } from "assert";
import {
    Api,
    DEFAULT_NEON_API_URL,
    IDEMPOTENT,
    neonClient,
    NeonClientOptions,
    resolveNeonCredentials,
    toNeonApiError,
    waitForOperations,
    waitForRunningOperations,
} from "../../components/vendors/neon";
import { FakeNeon } from "../support/fakeNeon";

describe("Neon client (against the fake Neon API)", () => {
    let fake: FakeNeon;
    let progress: string[];

    const client = (extra: Partial<NeonClientOptions> = {}): Api =>
        neonClient({ apiKey: fake.apiKey, baseUrl: fake.url, policy: { baseDelayMs: 20 }, onProgress: (m) => progress.push(m), ...extra });

    before(async () => {
        fake = await FakeNeon.start({ operationPolls: 0 });
    });
    after(() => fake.stop());
    beforeEach(() => {
        fake.reset();
        fake.operationPolls = 0;
        progress = [];
    });

    describe("credentials", () => {
        it("takes keel:neonApiKey from provider config over NEON_API_KEY, and the URL from config, NEON_API_URL or Neon's", () => {
            assert.deepEqual(resolveNeonCredentials({ configApiKey: "from-config", env: { NEON_API_KEY: "from-env" } }), {
                apiKey: "from-config",
                baseUrl: DEFAULT_NEON_API_URL,
                source: "keel:neonApiKey",
            });
            assert.deepEqual(resolveNeonCredentials({ env: { NEON_API_KEY: " from-env ", NEON_API_URL: "http://127.0.0.1:9/api/v2/" } }), {
                apiKey: "from-env",
                baseUrl: "http://127.0.0.1:9/api/v2",
                source: "NEON_API_KEY",
            });
            assert.equal(
                resolveNeonCredentials({ configApiKey: "k", configApiUrl: "http://a/b", env: { NEON_API_URL: "http://c/d" } }).baseUrl,
                "http://a/b",
            );
            assert.equal(DEFAULT_NEON_API_URL, "https://console.neon.tech/api/v2");
        });

        it("refuses a missing key with the two ways to set one", () => {
            for (const sources of [{ env: {} }, { configApiKey: "  ", env: { NEON_API_KEY: "" } }]) {
                assert.throws(
                    () => resolveNeonCredentials(sources),
                    (e: Error) =>
                        e.name === "NeonCredentialsError" &&
                        e.message.includes("export NEON_API_KEY=...") &&
                        e.message.includes("npm run pulumi -- config set --secret keel:neonApiKey ..."),
                );
            }
        });
    });

    describe("retries", () => {
        it("waits out 429 (honouring Retry-After) and 423, reporting each retry", async () => {
            fake.seedProject("app");
            fake.inject({ method: "GET", path: /^\/projects$/, status: 429, retryAfter: "1", times: 1 });
            fake.inject({ method: "GET", path: /^\/projects$/, status: 423, times: 2 });
            const { data } = await client().listProjects({});
            assert.equal(data.projects.length, 1);
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [429, 423, 423, 200],
            );
            // Honouring Retry-After is read off the client's own scheduler (it reports the delay it then sleeps), not timed.
            assert.equal(progress[0], "Neon API GET /projects: retrying in 1s (429 Too Many Requests)");
            assert.match(progress[1], /^Neon API GET \/projects: retrying in \d+ms \(423 Locked\)$/);
        });

        it("retries 5xx on reads a bounded number of times, then fails naming the request and why it gave up", async () => {
            fake.inject({ method: "GET", path: /^\/projects$/, status: 500, times: 2 });
            await client().listProjects({});
            assert.equal(fake.requests.length, 3);

            fake.reset();
            fake.inject({ method: "GET", path: /^\/projects$/, status: 500, times: 10 });
            await assert.rejects(client({ policy: { baseDelayMs: 5, maxServerRetries: 3 } }).listProjects({}), (e: any) => {
                assert.equal(e.name, "NeonApiError");
                assert.equal(e.status, 500);
                assert.match(
                    e.message,
                    /^Neon API GET \/projects: 500 internal server error \[request_id [0-9a-f-]+\]; gave up: 500 Internal Server Error after 3 retries$/,
                );
                return true;
            });
            assert.equal(fake.requests.length, 4);
        });

        it("does not repeat a POST that failed with 500 or lost its response, and says it may have been processed", async () => {
            const project = fake.seedProject("app");
            fake.inject({ method: "POST", path: /\/branches$/, status: 500, times: 1 });
            await assert.rejects(
                client().createProjectBranch(project.id, { branch: { name: "x" } }),
                (e: any) => e.status === 500 && e.mayHaveBeenProcessed === true,
            );
            assert.equal(fake.mutations().length, 1);

            fake.dropResponses("POST", /\/branches$/);
            await assert.rejects(client().createProjectBranch(project.id, { branch: { name: "y" } }), (e: any) => {
                assert.equal(e.status, undefined);
                assert.equal(e.mayHaveBeenProcessed, true);
                assert.match(
                    e.message,
                    /^Neon API POST \/projects\/[a-z0-9-]+\/branches: socket hang up \(ECONNRESET\); gave up: ECONNRESET after the request may have been processed; not repeating a non-idempotent request$/,
                );
                return true;
            });
            assert.ok(fake.branch(project.id, "y"), "the fake did create it");
            assert.equal(fake.mutations().length, 2, "and the client did not send it again");
        });

        it("repeats a POST marked idempotent, and retries 503 and 429 on any POST", async () => {
            const project = fake.seedProject("app", { roleName: "app", databaseName: "app" });
            const main = fake.branch(project.id, "main")!;
            fake.operationPolls = 2;
            fake.dropResponses("POST", /reset_password$/);
            const { data } = await client().resetProjectBranchRolePassword(project.id, main.id, "app", IDEMPOTENT);
            assert.equal(data.role.password, fake.state.roles.find((r) => r.branch_id === main.id)!.password);
            // The lost reset started an operation: the repeat meets 423 until it finishes (two refusals), then succeeds.
            assert.deepEqual(
                fake.mutations(/reset_password$/).map((r) => r.dropped ?? r.status),
                [true, 423, 423, 200],
            );
            fake.finishOperations();
            fake.operationPolls = 0;

            fake.inject({ method: "POST", path: /\/branches$/, status: 503, times: 1 });
            fake.inject({ method: "POST", path: /\/branches$/, status: 429, retryAfter: "0", times: 1 });
            await client().createProjectBranch(project.id, { branch: { name: "z" } });
            assert.equal(fake.state.branches.filter((b) => b.name === "z").length, 1);
        });

        it("never retries other 4xx; the error names the request and Neon's message, never the key", async () => {
            await assert.rejects(client().getProject("no-such-project"), (e: any) => {
                assert.equal(e.status, 404);
                assert.match(e.message, /^Neon API GET \/projects\/no-such-project: 404 project not found/);
                for (const text of [e.message, e.stack ?? "", JSON.stringify(e)]) assert.ok(!text.includes(fake.apiKey), text);
                return true;
            });
            assert.equal(fake.requests.length, 1);
            await assert.rejects(
                client({ apiKey: "napi_wrong" }).listProjects({}),
                (e: any) => e.status === 401 && !e.message.includes("napi_wrong"),
            );
        });

        it("redacts the key should a message ever contain it", () => {
            const err = Object.assign(new Error("x"), {
                config: { method: "get", url: "/projects" },
                response: { status: 400, data: { message: "bad key k3y-123" } },
            });
            assert.equal(toNeonApiError(err, "k3y-123").message, "Neon API GET /projects: 400 bad key [redacted]");
        });
    });

    describe("waitForOperations", () => {
        it("polls until every operation of a mutation is finished", async () => {
            fake.operationPolls = 2;
            const project = fake.seedProject("app");
            const { data } = await client().createProjectBranch(project.id, {
                branch: { name: "slow" },
                endpoints: [{ type: "read_write" as any }],
            });
            assert.deepEqual(
                data.operations.map((op) => op.status),
                ["running", "running"],
            );
            const done = await waitForOperations(client(), project.id, data.operations, { pollMs: 10 });
            assert.deepEqual(
                done.map((op) => op.status),
                ["finished", "finished"],
            );
            assert.deepEqual(fake.runningOperations(), []);
            // Each operation was polled until it read finished: twice running, then finished.
            for (const op of data.operations) {
                const polls = fake.requests.filter((r) => r.path.endsWith(`/operations/${op.id}`)).map((r) => r.response.operation.status);
                assert.deepEqual(polls, ["running", "running", "finished"], op.action);
            }
        });

        it("fails clearly on a failed operation, with its action and Neon's error", async () => {
            const project = fake.seedProject("app");
            fake.failNextOperations("timeline creation failed: no space left", { action: "create_branch" });
            const { data } = await client().createProjectBranch(project.id, { branch: { name: "doomed" } });
            await assert.rejects(waitForOperations(client(), project.id, data.operations), (e: Error) => {
                assert.equal(e.name, "NeonOperationError");
                assert.match(
                    e.message,
                    /^Neon operation create_branch \(operation [0-9a-f-]+, branch br-[a-z0-9-]+\) in project [a-z0-9-]+ failed: timeline creation failed: no space left\./,
                );
                return true;
            });
        });

        it("gives up after its timeout, saying the operation may still finish", async () => {
            fake.operationPolls = Infinity; // it never finishes
            const project = fake.seedProject("app");
            const { data } = await client().createProjectBranch(project.id, { branch: { name: "slow" } });
            await assert.rejects(
                waitForOperations(client(), project.id, data.operations, { timeoutMs: 300 }),
                /did not finish within 300ms\. They may still finish: run 'pulumi refresh'/,
            );
        });

        it("waits for operations already running on a branch (someone else's)", async () => {
            const project = fake.seedProject("app");
            const main = fake.branch(project.id, "main")!;
            const theirs = fake.startOperation(project.id, main.id, "apply_config", 2);
            await waitForRunningOperations(client(), project.id, { branchId: main.id }, { pollMs: 10 });
            assert.deepEqual(fake.runningOperations(), []);
            // Found in the list, then polled until finished.
            const polls = fake.requests.filter((r) => r.path.endsWith(`/operations/${theirs.id}`)).map((r) => r.response.operation.status);
            assert.deepEqual(polls, ["running", "running", "finished"]);
        });
    });
});
