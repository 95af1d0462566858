/**
 * The Fly Machines client over HTTP, against the local fake: retries as the
 * policy says (429, 409 lease conflicts, 5xx, lost POSTs), leases and their
 * nonce, waits, secrets versions, IP assignments, errors that name the request
 * and never the token, and closure serialization.
 */
import { strict as assert } from "assert";
import {
    DEFAULT_FLY_API_URL,
    flyClient,
    FlyClient,
    FlyClientOptions,
    resolveFlyCredentials,
    toFlyApiError,
} from "../../components/vendors/fly";
import { FakeFly } from "../support/fakeFly";

describe("Fly Machines client (against the fake Fly API)", () => {
    let fake: FakeFly;
    let progress: string[];

    const client = (extra: Partial<FlyClientOptions> = {}): FlyClient =>
        flyClient({ token: fake.token, baseUrl: fake.url, policy: { baseDelayMs: 20 }, onProgress: (m) => progress.push(m), ...extra });

    const noToken = (e: any) => {
        for (const text of [e.message, e.stack ?? "", JSON.stringify(e)]) assert.ok(!text.includes(fake.token), text);
    };

    before(async () => {
        fake = await FakeFly.start();
    });
    after(() => fake.stop());
    beforeEach(() => {
        fake.reset();
        fake.startPolls = 1;
        progress = [];
    });

    describe("credentials", () => {
        it("takes keel:flyApiToken over FLY_API_TOKEN, and the URL from config, FLY_API_URL or Fly's", () => {
            assert.deepEqual(resolveFlyCredentials({ configApiToken: "from-config", env: { FLY_API_TOKEN: "from-env" } }), {
                token: "from-config",
                baseUrl: DEFAULT_FLY_API_URL,
                source: "keel:flyApiToken",
            });
            assert.deepEqual(resolveFlyCredentials({ env: { FLY_API_TOKEN: " from-env ", FLY_API_URL: "http://127.0.0.1:9/v1/" } }), {
                token: "from-env",
                baseUrl: "http://127.0.0.1:9/v1",
                source: "FLY_API_TOKEN",
            });
            assert.equal(
                resolveFlyCredentials({ configApiToken: "t", configApiUrl: "http://a/v1", env: { FLY_API_URL: "http://c/v1" } }).baseUrl,
                "http://a/v1",
            );
            assert.equal(DEFAULT_FLY_API_URL, "https://api.machines.dev/v1");
        });

        it("refuses a missing token with the two ways to set one", () => {
            for (const sources of [{ env: {} }, { configApiToken: " ", env: { FLY_API_TOKEN: "" } }]) {
                assert.throws(
                    () => resolveFlyCredentials(sources),
                    (e: Error) =>
                        e.name === "FlyCredentialsError" &&
                        e.message.includes("export FLY_API_TOKEN=...") &&
                        e.message.includes("npm run pulumi -- config set --secret keel:flyApiToken ..."),
                );
            }
        });
    });

    describe("apps, machines, secrets, IPs", () => {
        it("creates an app (201, no body), reads, lists and deletes it; errors name the request and Fly's text", async () => {
            const fly = client();
            await fly.createApp({ name: "keel-web", org_slug: "personal" });
            const app = await fly.getApp("keel-web");
            assert.equal(app.name, "keel-web");
            assert.equal(app.organization?.slug, "personal");
            assert.deepEqual(
                (await fly.listApps("personal")).apps?.map((a) => a.name),
                ["keel-web"],
            );
            await assert.rejects(fly.createApp({ name: "keel-web", org_slug: "personal" }), (e: any) => {
                assert.equal(e.name, "FlyApiError");
                assert.equal(e.status, 422);
                assert.equal(e.message, "Fly API POST /apps: 422 app name keel-web has already been taken");
                assert.equal(e.flyError, "app name keel-web has already been taken");
                noToken(e);
                return true;
            });
            await fly.deleteApp("keel-web");
            await assert.rejects(
                fly.getApp("keel-web"),
                (e: any) => e.status === 404 && e.message === "Fly API GET /apps/keel-web: 404 app keel-web not found",
            );
            assert.equal(fake.requests.filter((r) => r.status === 422 || r.status === 404).length, 2, "4xx are not retried");
        });

        it("creates a machine that goes created -> started, updates it to a new version, stops and deletes it", async () => {
            fake.seedApp("web");
            const fly = client();
            const m = await fly.createMachine("web", {
                name: "web-1",
                region: "ams",
                config: { image: "registry.fly.io/web:v1", metadata: { fly_platform_version: "v2", fly_process_group: "app" } },
            });
            assert.equal(m.state, "created");
            const waited = await fly.waitForState("web", m.id, "started", { instanceId: m.instance_id, timeoutS: 10 });
            assert.equal(waited.state, "started");
            assert.equal((await fly.getMachine("web", m.id)).state, "started");
            // One Machines_wait: the fake plays the start forward instead of blocking.
            assert.equal(fake.requests.filter((r) => r.path.endsWith("/wait")).length, 1);

            const updated = await fly.updateMachine("web", m.id, {
                config: { ...m.config, image: "registry.fly.io/web:v2" },
                current_version: m.instance_id,
            });
            assert.notEqual(updated.instance_id, m.instance_id);
            await fly.waitForState("web", m.id, "started", { instanceId: updated.instance_id, timeoutS: 10 });
            // A stale current_version is refused (412), not retried.
            await assert.rejects(
                fly.updateMachine("web", m.id, { config: m.config!, current_version: m.instance_id }),
                (e: any) => e.status === 412,
            );

            await assert.rejects(fly.deleteMachine("web", m.id), (e: any) => e.status === 412 && /not currently stopped/.test(e.message));
            await fly.stopMachine("web", m.id, { signal: "SIGTERM", timeout: "5s" });
            await fly.waitForState("web", m.id, "stopped", { timeoutS: 10 });
            await fly.deleteMachine("web", m.id);
            await fly.waitForState("web", m.id, "destroyed", { timeoutS: 10 });
            assert.deepEqual(await fly.listMachines("web"), []);
            assert.equal((await fly.listMachines("web", { include_deleted: true })).length, 1);
        });

        it("secrets carry a version; machines see them only when created or updated with min_secrets_version", async () => {
            fake.seedApp("web");
            const fly = client();
            const m = fake.seedMachine("web");
            const { version } = await fly.updateSecrets("web", { DATABASE_URL: "postgres://x", OLD: "1" });
            assert.equal(version, 1);
            assert.equal(fake.machine(m.id).secretsVersion, 0, "setting secrets does not reach running machines");
            const set = await fly.setSecret("web", "API_KEY", "k");
            assert.equal(set.version, 2);
            assert.equal((await fly.updateSecrets("web", { OLD: null })).version, 3);
            assert.deepEqual(
                (await fly.listSecrets("web")).map((s) => s.name),
                ["API_KEY", "DATABASE_URL"],
            );
            assert.equal((await fly.getSecret("web", "API_KEY", { showSecrets: true })).value, "k");
            assert.equal((await fly.listSecrets("web"))[0].value, undefined, "values only with show_secrets");
            await assert.rejects(
                fly.updateMachine("web", m.id, { config: m.config, min_secrets_version: 9 }),
                (e: any) => e.status === 400 && /min_secrets_version 9/.test(e.message),
            );
            await fly.updateMachine("web", m.id, { config: m.config, min_secrets_version: 3 });
            assert.equal(fake.machine(m.id).secretsVersion, 3);
            assert.equal((await fly.deleteSecret("web", "API_KEY")).version, 4);
            await assert.rejects(fly.deleteSecret("web", "API_KEY"), (e: any) => e.status === 404);
        });

        it("assigns, lists and releases IPs", async () => {
            fake.seedApp("web");
            const fly = client();
            const v6 = await fly.assignIp("web", { type: "v6" });
            const shared = await fly.assignIp("web", { type: "shared_v4" });
            assert.equal(shared.shared, true);
            assert.deepEqual(
                (await fly.listIpAssignments("web")).map((i) => i.ip),
                [v6.ip, shared.ip],
            );
            await fly.releaseIp("web", v6.ip!);
            assert.deepEqual(
                (await fly.listIpAssignments("web")).map((i) => i.ip),
                [shared.ip],
            );
            await assert.rejects(fly.assignIp("web", { type: "v5" }), (e: any) => e.status === 400);
        });

        it("requests, shows, lists, checks and deletes ACME certificates, with the DNS records Fly asks for", async () => {
            fake.seedApp("web");
            const fly = client();
            const v4 = await fly.assignIp("web", { type: "shared_v4" });
            const cert = await fly.requestAcmeCertificate("web", "api.example.com");
            assert.equal(cert.hostname, "api.example.com");
            assert.equal(cert.status, "pending_validation");
            assert.equal(cert.dns_requirements?.cname, "web.fly.dev");
            assert.deepEqual(cert.dns_requirements?.a, [v4.ip]);
            assert.equal(cert.dns_requirements?.acme_challenge?.name, "_acme-challenge.api.example.com");
            assert.equal(fake.requests.at(-1)!.path, "/apps/web/certificates/acme");
            assert.deepEqual(fake.requests.at(-1)!.body, { hostname: "api.example.com" });
            await assert.rejects(
                fly.requestAcmeCertificate("web", "api.example.com"),
                (e: any) => e.status === 422 && /already has a certificate/.test(e.message),
            );
            assert.deepEqual(
                (await fly.listCertificates("web")).certificates?.map((c) => c.hostname),
                ["api.example.com"],
            );
            assert.equal((await fly.checkCertificate("web", "api.example.com")).status, "pending_validation");
            fake.apps.get("web")!.certificates.get("api.example.com")!.dnsConfigured = true;
            const checked = await fly.checkCertificate("web", "api.example.com");
            assert.equal(checked.status, "active");
            assert.deepEqual(checked.dns_records?.a, [v4.ip]);
            assert.equal((await fly.getCertificate("web", "api.example.com")).certificates?.[0]?.status, "active");
            await fly.deleteCertificate("web", "api.example.com");
            await assert.rejects(fly.getCertificate("web", "api.example.com"), (e: any) => e.status === 404);
            await assert.rejects(fly.deleteCertificate("web", "api.example.com"), (e: any) => e.status === 404);
        });
    });

    describe("retries", () => {
        it("waits out 429 honouring Retry-After, reporting each retry", async () => {
            fake.seedApp("web");
            fake.inject({ method: "GET", path: /^\/apps\/web$/, status: 429, retryAfter: "1" });
            fake.inject({ method: "GET", path: /^\/apps\/web$/, status: 429 });
            await client().getApp("web");
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [429, 429, 200],
            );
            // Honouring Retry-After is read off the client's own scheduler (it reports the delay it then sleeps), not timed.
            assert.equal(progress[0], "Fly API GET /apps/web: retrying in 1s (429 Too Many Requests)");
            assert.match(progress[1], /^Fly API GET \/apps\/web: retrying in \d+ms \(429 Too Many Requests\)$/);
        });

        it("keeps within Fly's rate limit (1/s per action per machine, burst 3) by waiting out its 429s", async () => {
            fake.rateLimit = true;
            try {
                fake.seedApp("web");
                const m = fake.seedMachine("web");
                const other = fake.seedMachine("web");
                const fly = client();
                // The fake's clock does not move here, so the burst is spent whatever the machine's speed; the
                // 429 credits the second it asks for (the fake trusts the client to wait it), so the retry passes.
                for (let i = 0; i < 4; i++) await fly.getMachine("web", m.id);
                await fly.getMachine("web", other.id);
                await fly.getLease("web", m.id).catch(() => undefined);
                assert.deepEqual(
                    fake.requests.map((r) => r.status),
                    [200, 200, 200, 429, 200, 200, 404],
                );
                assert.equal(fake.requests[3].path, fake.requests[4].path, "the fourth show was retried");
                // That the client really waits is read off its own scheduler: it reports the delay it then sleeps.
                // (Timing it, or the fake's arrival times, would make the test depend on the machine's speed.)
                assert.equal(fake.requests[3].response.error, "rate limit exceeded");
                assert.equal(progress.length, 1);
                assert.match(progress[0], /^Fly API GET \/apps\/web\/machines\/[0-9a-f]+: retrying in 1s \(429 Too Many Requests\)$/);
            } finally {
                fake.rateLimit = false;
            }
        });

        it("retries 429 on a POST too (it was refused, not processed)", async () => {
            fake.seedApp("web");
            fake.inject({ method: "POST", path: /\/machines$/, status: 429, retryAfter: "0" });
            await client().createMachine("web", { config: { image: "nginx:1" } });
            assert.equal(fake.machines.size, 1);
        });

        it("retries 5xx on reads a bounded number of times, then gives up naming the request", async () => {
            fake.seedApp("web");
            fake.inject({ method: "GET", path: /^\/apps\/web$/, status: 500, times: 2 });
            await client().getApp("web");
            assert.equal(fake.requests.length, 3);
            fake.reset();
            fake.inject({ method: "GET", path: /^\/apps$/, status: 502, times: 10 });
            await assert.rejects(client({ policy: { baseDelayMs: 5, maxServerRetries: 2 } }).listApps("personal"), (e: any) => {
                assert.equal(e.status, 502);
                assert.equal(e.message, "Fly API GET /apps: 502 bad gateway; gave up: 502 Bad Gateway after 2 retries");
                return true;
            });
            assert.equal(fake.requests.length, 3);
        });

        it("does not repeat a machine create that failed with 500 or lost its response", async () => {
            fake.seedApp("web");
            fake.inject({ method: "POST", path: /\/machines$/, status: 500 });
            await assert.rejects(
                client().createMachine("web", { config: { image: "nginx:1" } }),
                (e: any) => e.status === 500 && e.mayHaveBeenProcessed === true,
            );
            assert.equal(fake.mutations().length, 1);

            fake.dropResponses("POST", /\/machines$/);
            await assert.rejects(client().createMachine("web", { name: "lost", config: { image: "nginx:1" } }), (e: any) => {
                assert.equal(e.status, undefined);
                assert.equal(e.mayHaveBeenProcessed, true);
                assert.match(
                    e.message,
                    /^Fly API POST \/apps\/web\/machines: .+; gave up: .+ after the request may have been processed; not repeating a non-idempotent request$/,
                );
                noToken(e);
                return true;
            });
            assert.equal(fake.mutations().length, 2, "not sent again");
            assert.ok(
                [...fake.machines.values()].some((m) => m.name === "lost"),
                "yet the fake did create it",
            );
        });

        it("repeats idempotent POSTs (start, secrets) whose response was lost", async () => {
            fake.seedApp("web");
            const m = fake.seedMachine("web");
            fake.dropResponses("POST", /\/secrets$/);
            assert.equal((await client().updateSecrets("web", { A: "1" })).version, 2, "applied twice, same values");
            await client().stopMachine("web", m.id);
            await client().waitForState("web", m.id, "stopped", { timeoutS: 5 });
            fake.dropResponses("POST", /\/start$/);
            await client().startMachine("web", m.id);
            assert.equal(fake.mutations(/\/start$/).length, 2);
        });
    });

    describe("leases", () => {
        it("takes, refreshes and releases a lease; mutations carry its nonce", async () => {
            fake.seedApp("web");
            const m = fake.seedMachine("web");
            const fly = client();
            const lease = await fly.createLease("web", m.id, { ttl: 30, description: "keel up" });
            assert.ok(lease.nonce);
            assert.equal((await fly.getLease("web", m.id)).owner, fake.owner);
            const refreshed = await fly.createLease("web", m.id, { ttl: 60 }, { nonce: lease.nonce });
            assert.equal(refreshed.nonce, lease.nonce);
            assert.ok(refreshed.expires_at! > lease.expires_at!);
            const updated = await fly.updateMachine("web", m.id, { config: m.config }, { nonce: lease.nonce });
            assert.equal(fake.requests[fake.requests.length - 1].nonce, lease.nonce);
            await fly.waitForState("web", m.id, "started", { instanceId: updated.instance_id, timeoutS: 5 });
            await fly.stopMachine("web", m.id, {}, { nonce: lease.nonce });
            await fly.startMachine("web", m.id, { nonce: lease.nonce });
            await fly.releaseLease("web", m.id, lease.nonce!);
            await assert.rejects(fly.getLease("web", m.id), (e: any) => e.status === 404);
        });

        it("withLease runs under a lease and releases it, also when the work fails", async () => {
            fake.seedApp("web");
            const m = fake.seedMachine("web");
            const fly = client();
            const version = await fly.withLease("web", m.id, async (nonce) => {
                assert.equal(fake.machine(m.id).lease?.nonce, nonce);
                const u = await fly.updateMachine("web", m.id, { config: m.config }, { nonce });
                return u.instance_id;
            });
            assert.equal(fake.machine(m.id).instance_id, version);
            assert.equal(fake.machine(m.id).lease, undefined);
            await assert.rejects(
                fly.withLease("web", m.id, async () => {
                    throw new Error("boom");
                }),
                /boom/,
            );
            assert.equal(fake.machine(m.id).lease, undefined);
            assert.deepEqual(
                fake.mutations(/\/lease$/).map((r) => `${r.method} ${r.status}`),
                ["POST 201", "DELETE 200", "POST 201", "DELETE 200"],
            );
        });

        it("retries 409 while someone else holds the lease, and succeeds once the holder lets it go", async () => {
            fake.seedApp("web");
            const m = fake.seedMachine("web");
            // The other holder lets go after refusing two requests (its deploy finishing), not after wall-clock time.
            fake.leaseAsOther(m.id, { releaseAfterConflicts: 2 });
            await client({ policy: { baseDelayMs: 100 } }).updateMachine("web", m.id, { config: m.config });
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [409, 409, 200],
            );
            assert.equal(progress.length, 2);
            for (const line of progress)
                assert.match(line, /^Fly API POST \/apps\/web\/machines\/[0-9a-f]+: retrying in \d+ms \(409 Conflict\)$/);
        });

        it("someone else's lease expires on the fake's clock: when the test moves it, or as requests tick it", async () => {
            fake.seedApp("web");
            const m = fake.seedMachine("web");
            const fly = client();
            fake.leaseAsOther(m.id, { ttlS: 30 });
            assert.equal((await fly.getLease("web", m.id)).owner, "someone@else.example");
            fake.clock.advance(30_000);
            await assert.rejects(fly.getLease("web", m.id), (e: any) => e.status === 404);

            // Every request moves the clock 10 s: the 30 s lease is gone by the third attempt.
            fake.leaseAsOther(m.id, { ttlS: 30 });
            fake.requests.splice(0);
            fake.clock.tickPerRequestMs = 10_000;
            try {
                await client({ policy: { baseDelayMs: 10 } }).updateMachine("web", m.id, { config: m.config });
            } finally {
                fake.clock.tickPerRequestMs = 0;
            }
            assert.deepEqual(
                fake.requests.map((r) => r.status),
                [409, 409, 200],
            );
            assert.deepEqual(
                fake.requests.map((r) => r.atMs - fake.requests[0].atMs),
                [0, 10_000, 20_000],
                "logged at the fake's time",
            );
        });

        it("gives up on 409 after its budget, naming the request and the holder", async () => {
            fake.seedApp("web");
            const m = fake.seedMachine("web");
            fake.leaseAsOther(m.id, { ttlS: 30, owner: "deployer@example.com" }); // the fake's clock does not move: it outlasts the budget
            await assert.rejects(client({ leaseConflictBudgetMs: 300 }).createLease("web", m.id, { ttl: 10 }), (e: any) => {
                assert.equal(e.status, 409);
                assert.match(
                    e.message,
                    /^Fly API POST \/apps\/web\/machines\/[0-9a-f]+\/lease: 409 machine [0-9a-f]+ already has a lease held by deployer@example.com; gave up: still 409 Conflict after /,
                );
                return true;
            });
            await assert.rejects(
                client({ leaseConflictBudgetMs: 0 }).deleteMachine("web", m.id, { force: true, nonce: "wrong" }),
                (e: any) => e.status === 409 && /nonce does not match/.test(e.message),
            );
            assert.equal(fake.machine(m.id).state, "started");
            // A 409 that is no lease conflict (a machine name taken) is thrown at once.
            fake.requests.splice(0);
            await assert.rejects(
                client().createMachine("web", { name: m.name, config: { image: "nginx:1" } }),
                (e: any) => e.status === 409 && /already exists/.test(e.message),
            );
            assert.equal(fake.requests.length, 1);
        });
    });

    describe("waits", () => {
        it("loops Machines_wait past a server-side timeout (408) until the deadline", async () => {
            fake.seedApp("web");
            const m = await client().createMachine("web", { config: { image: "nginx:1" } });
            fake.inject({ method: "GET", path: /\/wait$/, status: 408, error: "deadline_exceeded" });
            const seen: string[] = [];
            await client().waitForState("web", m.id, "started", { timeoutS: 10, onProgress: (s) => seen.push(s) });
            assert.equal(fake.requests.filter((r) => r.path.endsWith("/wait")).length, 2);
            assert.deepEqual(seen, [`still waiting for machine ${m.id} of app web to be started`]);
            assert.equal(fake.requests.find((r) => r.path.endsWith("/wait"))!.query.timeout, "10");
        });

        it("gives up at its deadline, saying where the machine is", async () => {
            fake.seedApp("web");
            fake.startPolls = Infinity; // it hangs in `starting`
            const m = await client().createMachine("web", { config: { image: "nginx:1" } });
            await assert.rejects(client().waitForState("web", m.id, "started", { timeoutS: 1 }), (e: any) => {
                assert.equal(e.name, "FlyWaitError");
                assert.match(
                    e.message,
                    new RegExp(
                        `^Gave up waiting for machine ${m.id} of app web to be started after 1s \\(it is starting at version ${m.instance_id}\\)`,
                    ),
                );
                return true;
            });
            // Every wait was answered 408 (at once: the start never comes).
            const waits = fake.requests.filter((r) => r.path.endsWith("/wait"));
            assert.ok(waits.length >= 1);
            assert.deepEqual([...new Set(waits.map((r) => r.status))], [408]);
        });

        it("waits for health checks to pass, and names the failing ones when they never do", async () => {
            fake.seedApp("web");
            const fly = client();
            const config = {
                image: "registry.fly.io/web:good",
                checks: { http: { type: "http", port: 8080, path: "/healthz", interval: "1s", timeout: "1s" } },
            };
            const good = await fly.createMachine("web", { config });
            await fly.waitForState("web", good.id, "started", { timeoutS: 5 });
            assert.equal((await fly.getMachine("web", good.id)).checks?.[0].status, "critical", "not yet");
            const healthy = await fly.waitForChecks("web", good.id, { timeoutS: 5, pollMs: 20 });
            assert.deepEqual(
                healthy.checks?.map((c) => [c.name, c.status]),
                [["http", "passing"]],
            );

            fake.neverHealthy("registry.fly.io/web:bad");
            const bad = await fly.createMachine("web", { config: { ...config, image: "registry.fly.io/web:bad" } });
            await fly.waitForState("web", bad.id, "started", { timeoutS: 5 });
            await assert.rejects(fly.waitForChecks("web", bad.id, { timeoutS: 0.5, pollMs: 50 }), (e: any) => {
                assert.equal(e.name, "FlyWaitError");
                assert.match(
                    e.message,
                    /did not pass its health checks within 500ms: http critical \(connect: connection refused \(port 8080\)\)/,
                );
                return true;
            });
        });
    });

    describe("the token", () => {
        it("is never in an error, even when Fly's text contains it", async () => {
            await assert.rejects(
                client({ token: "fo1_wrong_token" }).listApps("personal"),
                (e: any) => e.status === 401 && !e.message.includes("fo1_wrong_token"),
            );
            const err = { status: 400, response: { status: 400, headers: {}, data: { error: "bad token tok-123" } } };
            const e = toFlyApiError(err, { method: "GET", path: "/apps" }, "tok-123");
            assert.equal(e.message, "Fly API GET /apps: 400 bad token [redacted]");
            assert.equal(e.flyError, "bad token [redacted]");
        });
    });
});
