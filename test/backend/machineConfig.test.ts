/** The pure half of the Fly machines deploy: config, drift, region plans. */
import { strict as assert } from "assert";
import type { Machine } from "../../components/vendors/fly";
import {
    buildMachineConfig,
    configDrift,
    FlyMachinesInputs,
    inProcessGroup,
    isManaged,
    machineName,
    machineNumber,
    machinesDrift,
    normalizeAutostop,
    planFreshSet,
    planRegions,
    releaseOf,
    rolloutChanges,
    shouldBeRunning,
    sortRecords,
} from "../../components/backend/fly/machineConfig";

function inputs(over: Partial<FlyMachinesInputs> = {}): FlyMachinesInputs {
    return {
        app: "keel-web",
        stack: "staging",
        processGroup: "app",
        image: "registry.fly.io/keel-web:v1",
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
        healthTimeoutSeconds: 60,
        ...over,
    };
}

function machine(id: string, name: string, region: string, over: Partial<Machine> = {}, config = buildMachineConfig(inputs(), 1)): Machine {
    return { id, name, region, state: "started", instance_id: `i-${id}`, config, ...over };
}

describe("Fly machine config (pure)", () => {
    describe("buildMachineConfig", () => {
        it("builds image, env, guest, services, checks, restart and the metadata flyctl needs", () => {
            const c = buildMachineConfig(inputs(), 7);
            assert.equal(c.image, "registry.fly.io/keel-web:v1");
            assert.deepEqual(c.env, { NODE_ENV: "production" });
            assert.deepEqual(c.guest, { cpu_kind: "shared", cpus: 1, memory_mb: 256 });
            assert.equal(c.services!.length, 1);
            const s = c.services![0];
            assert.equal(s.protocol, "tcp");
            assert.equal(s.internal_port, 8080);
            assert.deepEqual(s.ports, [
                { port: 80, handlers: ["http"], force_https: true },
                { port: 443, handlers: ["tls", "http"] },
            ]);
            assert.equal(s.autostop, "off");
            assert.equal(s.autostart, true);
            assert.equal(s.min_machines_running, 1);
            assert.deepEqual(c.checks, {
                "http-health": {
                    type: "http",
                    port: 8080,
                    method: "GET",
                    path: "/healthz",
                    interval: "15s",
                    timeout: "5s",
                    grace_period: "10s",
                },
            });
            assert.deepEqual(c.restart, { policy: "on-failure", max_retries: 3 });
            assert.deepEqual(c.metadata, {
                fly_platform_version: "v2",
                fly_process_group: "app",
                fly_release_version: "7",
                keel_stack: "staging",
                keel_managed: "true",
            });
        });

        it("leaves max_retries out unless the policy is on-failure, and copies env", () => {
            const env = { A: "1" };
            const c = buildMachineConfig(inputs({ restart: { policy: "always", maxRetries: 5 }, env }), 1);
            assert.deepEqual(c.restart, { policy: "always" });
            env.A = "2";
            assert.equal(c.env!.A, "1");
        });
    });

    describe("names", () => {
        it("names machines <group>-<region>-<n> and reads the n back", () => {
            assert.equal(machineName("app", "iad", 3), "app-iad-3");
            assert.equal(machineNumber("app-iad-3", "app", "iad"), 3);
            assert.equal(machineNumber("app-iad-x", "app", "iad"), undefined);
            assert.equal(machineNumber("worker-iad-1", "app", "iad"), undefined);
            assert.equal(machineNumber(undefined, "app", "iad"), undefined);
        });
    });

    describe("configDrift", () => {
        const desired = buildMachineConfig(inputs(), 1);

        it("finds nothing for the same config, whatever the release version and Fly's FLY_* env", () => {
            const live = JSON.parse(JSON.stringify(buildMachineConfig(inputs(), 5)));
            live.env.FLY_PROCESS_GROUP = "app";
            live.init = {};
            assert.deepEqual(configDrift(live, desired), []);
        });

        it("reports image, guest and env changed by hand as wanted -> live", () => {
            const live = JSON.parse(JSON.stringify(desired));
            live.image = "registry.fly.io/keel-web:hotfix";
            live.guest.memory_mb = 1024;
            live.env.NODE_ENV = "development";
            live.env.DEBUG = "1";
            assert.deepEqual(configDrift(live, desired), [
                "image: 'registry.fly.io/keel-web:v1' -> 'registry.fly.io/keel-web:hotfix'",
                "guest.memory_mb: 256 -> 1024",
                "env.NODE_ENV: 'production' -> 'development'",
                "env.DEBUG: (none) -> '1'",
            ]);
        });

        it("reads the API's older autostop booleans", () => {
            const live = JSON.parse(JSON.stringify(desired));
            live.services[0].autostop = false;
            assert.deepEqual(configDrift(live, desired), []);
            live.services[0].autostop = true;
            assert.deepEqual(configDrift(live, desired), ["services[0].autostop: 'off' -> 'stop'"]);
            assert.equal(normalizeAutostop("suspend"), "suspend");
        });

        it("reports a machine without config or without Keel's metadata", () => {
            assert.ok(configDrift(undefined, desired).some((l) => l.startsWith("image:")));
            const live = JSON.parse(JSON.stringify(desired));
            delete live.metadata.keel_managed;
            assert.deepEqual(configDrift(live, desired), ["metadata.keel_managed: 'true' -> (none)"]);
        });
    });

    describe("membership", () => {
        it("tells managed machines of the group from others and reads the release", () => {
            const ours = machine("a", "app-iad-1", "iad");
            const byHand = machine("b", "x", "iad", {}, { image: "i", metadata: { fly_process_group: "app" } });
            const worker = machine("c", "w", "iad", {}, { image: "i", metadata: { fly_process_group: "worker", keel_managed: "true" } });
            const gone = machine("d", "app-iad-2", "iad", { state: "destroyed" });
            assert.deepEqual(
                [ours, byHand, worker, gone].map((m) => isManaged(m, "app")),
                [true, false, false, false],
            );
            assert.deepEqual(
                [ours, byHand, worker, gone].map((m) => inProcessGroup(m, "app")),
                [true, true, false, false],
            );
            assert.equal(releaseOf(ours), 1);
            assert.equal(releaseOf(byHand), 0);
        });

        it("says a stopped machine should run only when autostop is off", () => {
            const stopped = machine("a", "app-iad-1", "iad", { state: "stopped" });
            assert.equal(shouldBeRunning(stopped, "off"), true);
            assert.equal(shouldBeRunning(stopped, "stop"), false);
            assert.equal(shouldBeRunning(machine("b", "app-iad-2", "iad"), "off"), false);
        });
    });

    describe("rolloutChanges", () => {
        it("lists config inputs and the secrets version, not scale or strategy", () => {
            assert.deepEqual(
                rolloutChanges(
                    inputs(),
                    inputs({ regions: [{ region: "iad", count: 5 }], strategy: "bluegreen", healthTimeoutSeconds: 1 }),
                ),
                [],
            );
            assert.deepEqual(rolloutChanges(inputs(), inputs({ image: "x:v2" })), ["image"]);
            assert.deepEqual(rolloutChanges(inputs(), inputs({ secretsVersion: 2 })), ["secretsVersion"]);
            assert.deepEqual(rolloutChanges(inputs({ secretsVersion: 2 }), inputs({ secretsVersion: 2, env: { A: "1" } })), ["env"]);
        });
    });

    describe("planRegions", () => {
        it("creates every machine with numbered names on an empty app", () => {
            const plan = planRegions([], inputs().regions, "app");
            assert.deepEqual(plan.create, [
                { name: "app-iad-1", region: "iad" },
                { name: "app-iad-2", region: "iad" },
                { name: "app-fra-1", region: "fra" },
            ]);
            assert.deepEqual(plan.keep, []);
            assert.deepEqual(plan.destroy, []);
        });

        it("keeps what exists, fills the gaps with unused names, and destroys surplus and unlisted regions", () => {
            const existing = [
                machine("m2", "app-iad-2", "iad"),
                machine("m3", "app-iad-3", "iad"),
                machine("m10", "app-iad-10", "iad"),
                machine("f1", "app-fra-1", "fra"),
                machine("s1", "app-sin-1", "sin"),
                machine("gone", "app-iad-1", "iad", { state: "destroyed" }),
            ];
            const plan = planRegions(
                existing,
                [
                    { region: "iad", count: 2 },
                    { region: "fra", count: 2 },
                ],
                "app",
            );
            assert.deepEqual(
                plan.keep.map((m) => m.id),
                ["m2", "m3", "f1"],
            );
            assert.deepEqual(plan.create, [{ name: "app-fra-2", region: "fra" }]);
            assert.deepEqual(
                plan.destroy.map((m) => m.id),
                ["m10", "s1"],
            );
        });

        it("prefers the machines the resource deployed when some must go", () => {
            const existing = [machine("a", "app-iad-1", "iad"), machine("b", "app-iad-2", "iad"), machine("c", "app-iad-3", "iad")];
            const plan = planRegions(existing, [{ region: "iad", count: 2 }], "app", ["c", "b"]);
            assert.deepEqual(
                plan.keep.map((m) => m.id),
                ["b", "c"],
            );
            assert.deepEqual(
                plan.destroy.map((m) => m.id),
                ["a"],
            );
        });

        it("names a fresh set (bluegreen) after the names in use", () => {
            const existing = [machine("a", "app-iad-1", "iad"), machine("b", "app-iad-2", "iad"), machine("f", "app-fra-1", "fra")];
            assert.deepEqual(planFreshSet(existing, inputs().regions, "app"), [
                { name: "app-iad-3", region: "iad" },
                { name: "app-iad-4", region: "iad" },
                { name: "app-fra-2", region: "fra" },
            ]);
        });
    });

    describe("machinesDrift", () => {
        const props = {
            ...inputs(),
            releaseVersion: 1,
            machines: [
                { id: "a", name: "app-iad-1", region: "iad", instanceId: "i-a", state: "started" },
                { id: "b", name: "app-iad-2", region: "iad", instanceId: "i-b", state: "started" },
                { id: "f", name: "app-fra-1", region: "fra", instanceId: "i-f", state: "started" },
            ],
        };

        it("is empty when the machines are as deployed", () => {
            const live = props.machines.map((r) => machine(r.id, r.name, r.region));
            assert.deepEqual(machinesDrift(live, props), []);
        });

        it("reports destroyed, changed, stopped and extra machines", () => {
            const changedConfig = { ...buildMachineConfig(inputs(), 1), image: "registry.fly.io/keel-web:hotfix" };
            const live = [
                machine("a", "app-iad-1", "iad", {}, changedConfig),
                machine("f", "app-fra-1", "fra", { state: "stopped" }),
                machine("x", "app-iad-9", "iad"),
                machine("w", "worker-1", "iad", {}, { image: "w", metadata: { fly_process_group: "worker" } }),
            ];
            const drift = machinesDrift(live, props);
            assert.deepEqual(drift, [
                "~ machine app-iad-1 (a, iad): image: 'registry.fly.io/keel-web:v1' -> 'registry.fly.io/keel-web:hotfix' (changed outside Keel)",
                "- machine app-iad-2 (b, iad): destroyed outside Keel",
                "~ machine app-fra-1 (f, fra): stopped, but it should run (autostop is off)",
                "+ machine app-iad-9 (x, iad): in process group 'app' but not deployed by Keel (added outside Keel)",
            ]);
        });

        it("does not report stopped machines when autostop may stop them", () => {
            const live = props.machines.map((r) => machine(r.id, r.name, r.region, { state: "stopped" }));
            const p = { ...props, service: { ...props.service, autostop: "stop" as const } };
            const desired = buildMachineConfig(p, 1);
            assert.deepEqual(
                machinesDrift(
                    live.map((m) => ({ ...m, config: desired })),
                    p,
                ),
                [],
            );
        });
    });

    it("sorts records by region then name, numerically", () => {
        const r = (name: string, region: string) => ({ id: name, name, region, instanceId: "", state: "started" });
        assert.deepEqual(
            sortRecords([r("app-iad-10", "iad"), r("app-iad-2", "iad"), r("app-fra-1", "fra")]).map((x) => x.name),
            ["app-fra-1", "app-iad-2", "app-iad-10"],
        );
    });
});
