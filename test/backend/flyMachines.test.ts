/**
 * The FlyMachines provider, round-tripped through closure serialization as the
 * engine does, against the local fake Fly Machines API: create (adopting,
 * lost responses, unhealthy first deploy), rolling / bluegreen / immediate
 * rollouts and their failures, leases, rate limits, scaling, secrets
 * versions, drift on read, and delete.
 */
import { strict as assert } from "assert";
import type * as pulumi from "@pulumi/pulumi";
import { flyMachinesProvider, FlyMachinesInputs, FlyMachinesOutputs } from "../../components/backend/fly/machines";
import { buildMachineConfig } from "../../components/backend/fly/machineConfig";
import { UNKNOWN } from "../../components/providerContext";
import { flyClient } from "../../components/vendors/fly";
import { FakeFly, FakeFlyMachine, LoggedFlyRequest, setFlyEnv } from "../support/fakeFly";
import { captureConsole, serializedProvider, unconfigure } from "../support/serializedProvider";

type Provider = pulumi.dynamic.ResourceProvider<FlyMachinesInputs, FlyMachinesOutputs>;

const APP = "keel-web";
const V1 = "registry.fly.io/keel-web:v1";
const V2 = "registry.fly.io/keel-web:v2";

function inputs(over: Partial<FlyMachinesInputs> = {}): FlyMachinesInputs {
    return {
        app: APP,
        stack: "staging",
        processGroup: "app",
        image: V1,
        regions: [
            { region: "iad", count: 2 },
            { region: "fra", count: 1 },
        ],
        guest: { cpuKind: "shared", cpus: 1, memoryMb: 256 },
        env: { NODE_ENV: "production" },
        service: { internalPort: 8080, autostop: "off", autostart: true, minMachinesRunning: 1, forceHttps: true },
        healthCheck: { path: "/healthz", intervalSeconds: 15, timeoutSeconds: 5, gracePeriodSeconds: 10 },
        restart: { policy: "on-failure", maxRetries: 3 },
        strategy: "rolling",
        healthTimeoutSeconds: 2,
        ...over,
    };
}

/** Runs fn with pulumi.log's console output captured; rejects with fn's error (the lines on `lines`). */
async function logged<T>(fn: () => Promise<T>): Promise<{ result: T; lines: string[] }> {
    return captureConsole(fn);
}

async function rejects(fn: () => Promise<unknown>): Promise<{ err: Error; lines: string[] }> {
    const { result, lines } = await captureConsole(async () => {
        try {
            await fn();
        } catch (err) {
            return err as Error;
        }
        return undefined;
    });
    assert.ok(result, `expected a failure; the log was:\n${lines.join("\n")}`);
    return { err: result, lines };
}

describe("FlyMachines provider (serialized as the engine does, against the fake Fly API)", () => {
    let fake: FakeFly;
    let p: Provider;
    let text: string;
    let restoreEnv: () => void;

    before(async () => {
        fake = await FakeFly.start();
        restoreEnv = setFlyEnv({ FLY_API_TOKEN: fake.token, FLY_API_URL: fake.url });
        ({ provider: p, text } = await serializedProvider(flyMachinesProvider));
    });

    after(async () => {
        restoreEnv();
        await fake.stop();
    });

    beforeEach(() => {
        fake.reset();
        fake.rateLimit = false;
        fake.checksPolls = 1;
        fake.seedApp(APP);
    });

    /** The app's machines that are not destroyed (settled now). */
    function live(): FakeFlyMachine[] {
        return [...fake.machines.values()]
            .map((m) => fake.machine(m.id))
            .filter((m) => m.app === APP && m.state !== "destroyed" && m.state !== "destroying");
    }

    function byName(name: string): FakeFlyMachine {
        const m = live().find((x) => x.name === name);
        assert.ok(
            m,
            `no live machine named ${name}; there are ${live()
                .map((x) => x.name)
                .join(", ")}`,
        );
        return m;
    }

    function assertNoLeases(): void {
        const held = fake.leasedMachines();
        assert.deepEqual(
            held.map((m) => `${m.name}: ${m.lease!.owner}`),
            [],
            "leases left behind",
        );
    }

    const machinePath = (id: string) => `/apps/${APP}/machines/${id}`;
    const isUpdate = (r: LoggedFlyRequest, id: string) => r.method === "POST" && r.path === machinePath(id) && r.body?.config !== undefined;
    const passing = (r: LoggedFlyRequest, id: string) =>
        r.method === "GET" &&
        r.path === machinePath(id) &&
        Array.isArray(r.response?.checks) &&
        r.response.checks.length > 0 &&
        r.response.checks.every((c: { status: string }) => c.status === "passing");

    async function create(i: FlyMachinesInputs = inputs()): Promise<{ id: string; outs: FlyMachinesOutputs; lines: string[] }> {
        const checked = await p.check!({} as FlyMachinesInputs, i);
        assert.deepEqual(checked.failures ?? [], []);
        const { result, lines } = await logged(() => p.create(checked.inputs!));
        return { id: result.id, outs: result.outs!, lines };
    }

    async function update(
        id: string,
        olds: FlyMachinesOutputs,
        news: FlyMachinesInputs,
    ): Promise<{ outs: FlyMachinesOutputs; lines: string[] }> {
        const diff = await p.diff!(id, olds, news);
        assert.equal(diff.changes, true, "diff should find changes");
        assert.deepEqual(diff.replaces ?? [], []);
        const { result, lines } = await logged(() => p.update!(id, olds, news));
        return { outs: result.outs!, lines };
    }

    it("captures neither the token nor the API URL when serialized", () => {
        assert.ok(!text.includes(fake.token), "the token is in the serialized provider");
        assert.ok(!text.includes(fake.url), "the URL is in the serialized provider");
    });

    describe("create", () => {
        it("creates 2 machines in iad and 1 in fra with flyctl's metadata, services and checks, each started and healthy", async () => {
            const { id, outs, lines } = await create();
            assert.equal(id, `${APP}/app`);
            assert.deepEqual(
                outs.machines.map((m) => `${m.name} ${m.region} ${m.state}`),
                ["app-fra-1 fra started", "app-iad-1 iad started", "app-iad-2 iad started"],
            );
            assert.deepEqual(
                outs.machineIds,
                outs.machines.map((m) => m.id),
            );
            assert.equal(outs.releaseVersion, 1);
            assert.deepEqual(outs.drift, []);
            assert.equal(outs.image, V1);
            const machines = live();
            assert.equal(machines.length, 3);
            for (const m of machines) {
                assert.equal(m.state, "started");
                assert.deepEqual(m.config.metadata, {
                    fly_platform_version: "v2",
                    fly_process_group: "app",
                    fly_release_version: "1",
                    keel_stack: "staging",
                    keel_managed: "true",
                });
                assert.equal(m.config.image, V1);
                assert.deepEqual(m.config.guest, { cpu_kind: "shared", cpus: 1, memory_mb: 256 });
                assert.deepEqual(m.config.env, { NODE_ENV: "production" });
                assert.equal(m.config.services[0].internal_port, 8080);
                assert.deepEqual(m.config.services[0].ports, [
                    { port: 80, handlers: ["http"], force_https: true },
                    { port: 443, handlers: ["tls", "http"] },
                ]);
                assert.equal(m.config.checks["http-health"].path, "/healthz");
                assert.equal(m.config.checks["http-health"].port, 8080);
                assert.deepEqual(m.config.restart, { policy: "on-failure", max_retries: 3 });
                assert.equal(outs.machines.find((r) => r.id === m.id)?.instanceId, m.instance_id);
            }
            // Each machine was seen passing its checks before create returned.
            for (const m of machines)
                assert.ok(
                    fake.requests.some((r) => passing(r, m.id)),
                    `${m.name} was not waited for`,
                );
            assert.ok(
                lines.some((l) => l.includes("machine 1 of 3 (iad): started, waiting for checks…")),
                lines.join("\n"),
            );
            assertNoLeases();
        });

        it("does not make a duplicate when a create's response is lost: finds it by name and carries on", async () => {
            fake.dropResponses("POST", new RegExp(`^/apps/${APP}/machines$`));
            const { outs, lines } = await create();
            assert.equal(live().length, 3);
            assert.equal(live().filter((m) => m.name === "app-iad-1").length, 1);
            assert.equal(fake.mutations(new RegExp(`^/apps/${APP}/machines$`)).length, 3, "the lost create was repeated");
            assert.ok(fake.requests.some((r) => r.dropped));
            assert.deepEqual(outs.machines.map((m) => m.name).sort(), ["app-fra-1", "app-iad-1", "app-iad-2"]);
            assert.ok(
                lines.some((l) => l.includes("the response to the create request was lost")),
                lines.join("\n"),
            );
        });

        it("adopts machines Keel deployed before (keel_managed, same process group) and creates only what is missing", async () => {
            const existing = fake.seedMachine(APP, buildMachineConfig(inputs(), 4), { region: "iad", name: "app-iad-1" });
            const other = fake.seedMachine(
                APP,
                { image: "other", metadata: { fly_process_group: "worker" } },
                { region: "iad", name: "worker-1" },
            );
            const { outs, lines } = await create();
            assert.ok(outs.machineIds.includes(existing.id));
            assert.ok(!outs.machineIds.includes(other.id));
            assert.equal(fake.machine(existing.id).instance_id, existing.instance_id, "an adopted machine that matches is not touched");
            assert.equal(live().length, 4);
            assert.equal(outs.releaseVersion, 5);
            assert.ok(
                lines.some((l) => l.includes("adopting 1 machine(s)")),
                lines.join("\n"),
            );
        });

        it("destroys the machines it made and fails, saying why, when they never become healthy", async () => {
            fake.neverHealthy(V2);
            const { err } = await rejects(() => p.create(inputs({ image: V2, healthTimeoutSeconds: 0.5 })));
            assert.equal(err.name, "FlyDeployError");
            assert.match(err.message, /app-iad-1/);
            assert.match(err.message, /did not become healthy/);
            assert.match(err.message, /http-health critical/);
            assert.match(err.message, /Destroyed the 3 machine\(s\) this deploy created/);
            assert.match(err.message, /fly logs -a keel-web/);
            assert.deepEqual(live(), []);
            assertNoLeases();
        });

        it("reads the token and URL from the provider's config (configure) as well", async () => {
            const restore = setFlyEnv({ FLY_API_TOKEN: undefined, FLY_API_URL: undefined });
            try {
                const { provider } = await serializedProvider(flyMachinesProvider);
                await provider.configure!({
                    config: { get: (k: string) => (k === "flyApiToken" ? fake.token : k === "flyApiUrl" ? fake.url : undefined) },
                } as unknown as pulumi.dynamic.ConfigureRequest);
                const { result } = await logged(() => provider.create(inputs({ regions: [{ region: "iad", count: 1 }] })));
                assert.equal(result.outs!.machines.length, 1);
                await unconfigure(provider);
            } finally {
                restore();
            }
        });
    });

    describe("rolling update", () => {
        it("updates one machine at a time: the next only after the previous passed its checks", async () => {
            const { id, outs } = await create(inputs({ regions: [{ region: "iad", count: 2 }] }));
            const [m1, m2] = [byName("app-iad-1"), byName("app-iad-2")];
            const { outs: after, lines } = await update(id, outs, inputs({ image: V2, regions: [{ region: "iad", count: 2 }] }));
            const reqs = fake.requests;
            const u1 = reqs.findIndex((r) => isUpdate(r, m1.id));
            const c1 = reqs.findIndex((r, i) => i > u1 && passing(r, m1.id));
            const u2 = reqs.findIndex((r) => isUpdate(r, m2.id));
            const c2 = reqs.findIndex((r, i) => i > u2 && passing(r, m2.id));
            assert.ok(u1 >= 0 && c1 > u1, "machine 1 was not seen passing after its update");
            assert.ok(u2 > c1, `machine 2 was updated (request ${u2}) before machine 1 passed its checks (request ${c1})`);
            assert.ok(c2 > u2);
            // Under the lease, with its nonce.
            for (const idx of [u1, u2]) assert.ok(reqs[idx].nonce, "update without the lease nonce");
            for (const m of live()) {
                assert.equal(m.config.image, V2);
                assert.equal(m.config.metadata.fly_release_version, "2");
                assert.equal(m.state, "started");
            }
            assert.deepEqual(after.machineIds, outs.machineIds, "a rolling update keeps the machines");
            assert.equal(after.releaseVersion, 2);
            assert.equal(after.image, V2);
            assert.notEqual(after.machines[0].instanceId, outs.machines[0].instanceId);
            assert.ok(
                lines.some((l) => l.includes("machine 2 of 2 (iad): started, waiting for checks…")),
                lines.join("\n"),
            );
            assertNoLeases();
        });

        it("puts the machine back on the previous image when the new one never becomes healthy, and says where to look", async () => {
            const { id, outs } = await create();
            fake.neverHealthy(V2);
            const { err } = await rejects(() => p.update!(id, outs, inputs({ image: V2, healthTimeoutSeconds: 0.5 })));
            assert.equal(err.name, "FlyDeployError");
            assert.match(err.message, /app-iad-1/);
            assert.match(err.message, /http-health critical/);
            assert.match(err.message, /previous version \(registry\.fly\.io\/keel-web:v1\) was restored on the 1 machine/);
            assert.match(err.message, /fly logs -a keel-web/);
            assert.match(err.message, /fly status -a keel-web/);
            for (const m of live()) {
                assert.equal(m.config.image, V1, `${m.name} is not on the previous image`);
                assert.equal(m.state, "started");
            }
            const m2 = byName("app-iad-2");
            assert.ok(!fake.requests.some((r) => isUpdate(r, m2.id)), "machine 2 was touched");
            assertNoLeases();
        });

        it("restores every machine already updated (the failing one included) when a later one fails", async () => {
            const { id, outs } = await create();
            const [m1, m2, f1] = [byName("app-iad-1"), byName("app-iad-2"), byName("app-fra-1")];
            fake.failNextStart(m2.id);
            const { err, lines } = await rejects(() => p.update!(id, outs, inputs({ image: V2, healthTimeoutSeconds: 1 })));
            assert.match(err.message, /machine 2 of 3, app-iad-2/);
            assert.match(err.message, /state failed/);
            assert.match(err.message, /restored on the 2 machine\(s\) already updated \(app-iad-2, app-iad-1\)/);
            for (const m of [m1, m2]) {
                const now = fake.machine(m.id);
                assert.equal(now.config.image, V1, `${m.name} is not back on v1`);
                assert.equal(now.config.metadata.fly_release_version, "1");
                assert.equal(now.state, "started");
            }
            // Machine 1 had been on v2 and healthy before it was put back.
            assert.ok(fake.requests.some((r) => isUpdate(r, m1.id) && r.body.config.image === V2));
            assert.ok(fake.requests.some((r) => isUpdate(r, m1.id) && r.body.config.image === V1));
            assert.ok(!fake.requests.some((r) => isUpdate(r, f1.id)), "the third machine was touched");
            assert.ok(
                lines.some((l) => l.includes("restoring")),
                lines.join("\n"),
            );
            assertNoLeases();
        });

        it("waits out a lease someone else holds on a machine", async () => {
            const { id, outs } = await create(inputs({ regions: [{ region: "iad", count: 2 }] }));
            const m1 = byName("app-iad-1");
            // The other holder lets go after refusing two of our requests (its deploy finishing).
            fake.leaseAsOther(m1.id, { releaseAfterConflicts: 2, owner: "someone@else.example" });
            const { outs: after } = await update(id, outs, inputs({ image: V2, regions: [{ region: "iad", count: 2 }] }));
            const leases = fake.requests.filter((r) => r.method === "POST" && r.path === `${machinePath(m1.id)}/lease`);
            assert.deepEqual(
                leases.map((r) => r.status),
                [409, 409, 201],
                "it waited out the other lease, then took its own",
            );
            assert.ok(!fake.requests.some((r) => isUpdate(r, m1.id) && r.status === 409), "updated without holding the lease");
            for (const m of live()) assert.equal(m.config.image, V2);
            assert.equal(after.releaseVersion, 2);
            assertNoLeases();
        });

        it("updates a machine stopped by autostop without starting it (skip_launch), and reports no drift for it", async () => {
            const auto = (over: Partial<FlyMachinesInputs> = {}) =>
                inputs({
                    regions: [{ region: "iad", count: 2 }],
                    service: { ...inputs().service, autostop: "stop", minMachinesRunning: 0 },
                    ...over,
                });
            const { id, outs } = await create(auto());
            const [m1, m2] = [byName("app-iad-1"), byName("app-iad-2")];
            fake.machines.get(m1.id)!.state = "stopped";
            const refreshed = (await logged(() => p.read!(id, outs))).result.props as FlyMachinesOutputs;
            assert.deepEqual(refreshed.drift, []);
            await update(id, refreshed, auto({ image: V2 }));
            const u1 = fake.requests.find((r) => isUpdate(r, m1.id));
            assert.equal(u1?.body.skip_launch, true);
            assert.equal(fake.machine(m1.id).state, "stopped");
            assert.equal(fake.machine(m1.id).config.image, V2);
            assert.equal(fake.requests.find((r) => isUpdate(r, m2.id))?.body.skip_launch, undefined);
            assert.equal(fake.machine(m2.id).state, "started");
            assertNoLeases();
        });

        it("goes through Fly's rate limit (429 with Retry-After)", async () => {
            fake.rateLimit = true;
            fake.checksPolls = 1; // create and update each read a machine twice: its fourth read passes the burst of 3
            const { id, outs } = await create(inputs({ regions: [{ region: "iad", count: 2 }], healthTimeoutSeconds: 10 }));
            const { outs: after, lines } = await update(
                id,
                outs,
                inputs({ image: V2, regions: [{ region: "iad", count: 2 }], healthTimeoutSeconds: 10 }),
            );
            // The fake's clock does not move, so which request meets the limit does not depend on the machine's speed.
            const limited = fake.requests.map((r, i) => [r, i] as const).filter(([r]) => r.status === 429);
            assert.deepEqual(
                limited.map(([r]) => r.path).sort(),
                live()
                    .map((m) => machinePath(m.id))
                    .sort(),
                "each machine's fourth read met the limit",
            );
            for (const [r, i] of limited) {
                const retry = fake.requests.slice(i + 1).find((x) => x.method === r.method && x.path === r.path);
                assert.equal(retry?.status, 200, `${r.method} ${r.path} was not retried`);
            }
            // Waiting as asked is read off the client's own scheduler (never timed here).
            assert.equal(
                lines.filter((l) => /GET \/apps\/keel-web\/machines\/[0-9a-f]+: retrying in 1s \(429 Too Many Requests\)/.test(l)).length,
                2,
                lines.join("\n"),
            );
            for (const m of live()) {
                assert.equal(m.config.image, V2);
                assert.equal(m.state, "started");
            }
            assert.equal(after.releaseVersion, 2);
            assertNoLeases();
        });

        it("rolls the machines with min_secrets_version when the secrets version changes", async () => {
            const { id, outs } = await create();
            const { version } = await flyClient({ token: fake.token, baseUrl: fake.url }).updateSecrets(APP, {
                DATABASE_URL: "postgres://x",
            });
            assert.equal(version, 1);
            const { outs: after } = await update(id, outs, inputs({ secretsVersion: 1 }));
            for (const m of live()) {
                assert.equal(m.secretsVersion, 1, `${m.name} does not see the new secrets`);
                assert.ok(
                    fake.requests.some((r) => isUpdate(r, m.id) && r.body.min_secrets_version === 1),
                    `${m.name} was not updated with min_secrets_version`,
                );
                assert.equal(m.config.image, V1);
            }
            assert.equal(after.releaseVersion, 2);
            assert.equal(after.secretsVersion, 1);
        });
    });

    describe("bluegreen update", () => {
        const bg = (over: Partial<FlyMachinesInputs> = {}) =>
            inputs({ strategy: "bluegreen", regions: [{ region: "iad", count: 2 }], ...over });

        it("creates a new set, and stops and destroys the old one only once every new machine is healthy", async () => {
            const { id, outs } = await create(bg());
            const { outs: after, lines } = await update(id, outs, bg({ image: V2 }));
            assert.equal(after.machineIds.length, 2);
            for (const old of outs.machineIds) {
                assert.ok(!after.machineIds.includes(old));
                assert.ok(
                    ["destroying", "destroyed"].includes(fake.machine(old).state),
                    `old machine ${old} is ${fake.machine(old).state}`,
                );
            }
            const reqs = fake.requests;
            const lastHealthy = Math.max(...after.machineIds.map((m) => reqs.findIndex((r) => passing(r, m))));
            const firstStop = reqs.findIndex(
                (r) => r.method === "POST" && outs.machineIds.some((o) => r.path === `${machinePath(o)}/stop`),
            );
            const firstDestroy = reqs.findIndex((r) => r.method === "DELETE" && outs.machineIds.some((o) => r.path === machinePath(o)));
            assert.ok(firstStop > lastHealthy, "an old machine was stopped before the new set was healthy");
            assert.ok(firstDestroy > firstStop);
            assert.deepEqual(
                live()
                    .map((m) => `${m.name} ${m.config.image} ${m.state}`)
                    .sort(),
                [`app-iad-3 ${V2} started`, `app-iad-4 ${V2} started`],
            );
            assert.equal(after.releaseVersion, 2);
            assert.ok(
                lines.some((l) => l.includes("blue-green")),
                lines.join("\n"),
            );
            assertNoLeases();
        });

        it("destroys the new set and leaves the old one untouched and running when a new machine fails", async () => {
            const { id, outs } = await create(bg());
            const before = new Map(live().map((m) => [m.id, m.instance_id]));
            fake.neverHealthy(V2);
            const { err } = await rejects(() => p.update!(id, outs, bg({ image: V2, healthTimeoutSeconds: 0.5 })));
            assert.equal(err.name, "FlyDeployError");
            assert.match(err.message, /app-iad-3/);
            assert.match(err.message, /left untouched/);
            assert.match(err.message, /fly logs -a keel-web/);
            const now = live();
            assert.deepEqual(now.map((m) => m.id).sort(), [...before.keys()].sort(), "the new machines were not all destroyed");
            for (const m of now) {
                assert.equal(m.state, "started");
                assert.equal(m.config.image, V1);
                assert.equal(m.instance_id, before.get(m.id));
            }
            assert.ok(
                !fake.requests.some(
                    (r) =>
                        r.method !== "GET" && outs.machineIds.some((o) => r.path.startsWith(machinePath(o)) && !r.path.endsWith("/lease")),
                ),
                "an old machine was changed",
            );
            assertNoLeases();
        });
    });

    describe("immediate update", () => {
        it("updates every machine without waiting for health, and warns", async () => {
            const { id, outs } = await create(inputs({ regions: [{ region: "iad", count: 2 }], strategy: "immediate" }));
            const [m1, m2] = [byName("app-iad-1"), byName("app-iad-2")];
            const { outs: after, lines } = await update(
                id,
                outs,
                inputs({ image: V2, regions: [{ region: "iad", count: 2 }], strategy: "immediate" }),
            );
            const reqs = fake.requests;
            const u1 = reqs.findIndex((r) => isUpdate(r, m1.id));
            const u2 = reqs.findIndex((r) => isUpdate(r, m2.id));
            assert.ok(
                !reqs.slice(u1, u2).some((r) => r.path.startsWith(`${machinePath(m1.id)}/wait`) || passing(r, m1.id)),
                "waited for machine 1 before updating machine 2",
            );
            assert.equal(after.releaseVersion, 2);
            for (const m of live()) assert.equal(m.config.image, V2);
            assert.ok(
                lines.some((l) => l.includes("without waiting for health")),
                lines.join("\n"),
            );
            assertNoLeases();
        });
    });

    describe("scaling", () => {
        it("scales down (surplus destroyed, the rest untouched) and up again (new machines healthy)", async () => {
            const { id, outs } = await create();
            const keep = byName("app-iad-1");
            const down = inputs({ regions: [{ region: "iad", count: 1 }] });
            const { outs: afterDown, lines } = await update(id, outs, down);
            assert.deepEqual(
                afterDown.machines.map((m) => m.name),
                ["app-iad-1"],
            );
            assert.deepEqual(
                live().map((m) => m.name),
                ["app-iad-1"],
            );
            assert.equal(fake.machine(keep.id).instance_id, keep.instance_id, "scaling down rolled the kept machine");
            assert.equal(afterDown.releaseVersion, 1);
            assert.ok(
                lines.some((l) => l.includes("scaling down")),
                lines.join("\n"),
            );

            const up = inputs({ regions: [{ region: "iad", count: 3 }] });
            const { outs: afterUp } = await update(id, afterDown, up);
            assert.deepEqual(
                afterUp.machines.map((m) => `${m.name} ${m.state}`),
                ["app-iad-1 started", "app-iad-2 started", "app-iad-3 started"],
            );
            assert.equal(fake.machine(keep.id).instance_id, keep.instance_id);
            for (const m of live()) assert.equal(m.config.metadata.fly_release_version, "1");
            assertNoLeases();
        });

        it("rolls first and destroys the surplus after the rollout", async () => {
            const { id, outs } = await create();
            const fra = byName("app-fra-1");
            await update(id, outs, inputs({ image: V2, regions: [{ region: "iad", count: 2 }] }));
            const reqs = fake.requests;
            const lastUpdate = Math.max(...reqs.map((r, i) => (r.method === "POST" && r.body?.config?.image === V2 ? i : -1)));
            const destroy = reqs.findIndex((r) => r.method === "DELETE" && r.path === machinePath(fra.id));
            assert.ok(destroy > lastUpdate, "the surplus was destroyed before the rollout finished");
            assert.deepEqual(
                live()
                    .map((m) => `${m.name} ${m.config.image}`)
                    .sort(),
                [`app-iad-1 ${V2}`, `app-iad-2 ${V2}`],
            );
        });
    });

    describe("diff and check", () => {
        it("finds no change for the same inputs, a change (never a replacement) otherwise or when unknown", async () => {
            const { id, outs } = await create(inputs({ regions: [{ region: "iad", count: 1 }] }));
            const same = await p.diff!(id, outs, inputs({ regions: [{ region: "iad", count: 1 }] }));
            assert.equal(same.changes, false);
            for (const news of [
                inputs({ image: V2, regions: [{ region: "iad", count: 1 }] }),
                inputs(),
                inputs({ regions: [{ region: "iad", count: 1 }], app: "keel-other" }),
                { ...inputs({ regions: [{ region: "iad", count: 1 }] }), image: UNKNOWN },
            ]) {
                const d = await p.diff!(id, outs, news);
                assert.equal(d.changes, true, JSON.stringify(news));
                assert.deepEqual(d.replaces ?? [], []);
            }
        });

        it("refuses unusable inputs", async () => {
            const { failures } = await p.check!(
                {} as FlyMachinesInputs,
                inputs({ regions: [], strategy: "canary" as never, healthTimeoutSeconds: 0, processGroup: "App Group" }),
            );
            assert.deepEqual(failures!.map((f) => f.property).sort(), ["healthTimeoutSeconds", "processGroup", "regions", "strategy"]);
            const unknown = await p.check!({} as FlyMachinesInputs, { ...inputs(), image: UNKNOWN });
            assert.deepEqual(unknown.failures, []);
        });
    });

    describe("read (refresh)", () => {
        it("reports machines changed, destroyed, stopped and added by hand without failing; the next update puts it back", async () => {
            const { id, outs } = await create();
            const [m1, m2, f1] = [byName("app-iad-1"), byName("app-iad-2"), byName("app-fra-1")];
            fake.machines.get(m1.id)!.config.image = "registry.fly.io/keel-web:hotfix";
            fake.machines.get(m2.id)!.state = "destroyed";
            fake.machines.get(f1.id)!.state = "stopped";
            const extra = fake.seedMachine(APP, buildMachineConfig(inputs(), 1), { region: "iad", name: "app-iad-9" });

            const { result, lines } = await logged(() => p.read!(id, outs));
            const props = result.props as FlyMachinesOutputs;
            assert.equal(result.id, id);
            assert.deepEqual(props.drift, [
                `~ machine app-fra-1 (${f1.id}, fra): stopped, but it should run (autostop is off)`,
                `~ machine app-iad-1 (${m1.id}, iad): image: '${V1}' -> 'registry.fly.io/keel-web:hotfix' (changed outside Keel)`,
                `- machine app-iad-2 (${m2.id}, iad): destroyed outside Keel`,
                `+ machine app-iad-9 (${extra.id}, iad): in process group 'app' but not deployed by Keel (added outside Keel)`,
            ]);
            assert.equal(props.machines.find((m) => m.id === m2.id)?.state, "destroyed");
            assert.equal(props.machines.find((m) => m.id === f1.id)?.state, "stopped");
            assert.ok(!props.machineIds.includes(m2.id));
            assert.ok(
                lines.some((l) => l.includes("drift in")),
                lines.join("\n"),
            );
            // A second refresh still sees it.
            const again = (await logged(() => p.read!(id, props))).result.props as FlyMachinesOutputs;
            assert.equal(again.drift.length, 4);

            const { outs: fixed } = await update(id, again, inputs());
            assert.deepEqual(fixed.drift, []);
            assert.equal(live().length, 3);
            for (const m of live()) {
                assert.equal(m.config.image, V1, `${m.name} was not put back`);
                assert.equal(m.state, "started");
            }
            const clean = (await logged(() => p.read!(id, fixed))).result.props as FlyMachinesOutputs;
            assert.deepEqual(clean.drift, []);
            assert.equal((await p.diff!(id, clean, inputs())).changes, false);
            assertNoLeases();
        });

        it("reports an app deleted by hand instead of failing", async () => {
            const { id, outs } = await create(inputs({ regions: [{ region: "iad", count: 1 }] }));
            fake.apps.delete(APP);
            const { result } = await logged(() => p.read!(id, outs));
            const props = result.props as FlyMachinesOutputs;
            assert.equal(props.drift.length, 1);
            assert.match(props.drift[0], /app keel-web: not found/);
            assert.deepEqual(props.machineIds, []);
        });
    });

    describe("delete", () => {
        it("destroys the managed machines (force) and leaves others; an app already gone is fine", async () => {
            const { id, outs } = await create();
            const worker = fake.seedMachine(
                APP,
                { image: "w", metadata: { fly_process_group: "worker" } },
                { region: "iad", name: "worker-1" },
            );
            await logged(() => p.delete!(id, outs));
            assert.deepEqual(
                live().map((m) => m.id),
                [worker.id],
            );
            assert.ok(fake.requests.some((r) => r.method === "DELETE" && r.query.force === "true"));
            assertNoLeases();
            fake.apps.delete(APP);
            await logged(() => p.delete!(id, outs));
        });
    });
});
