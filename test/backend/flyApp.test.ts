/**
 * The Fly dynamic providers for the app, its IP addresses, certificates and
 * secrets, each round-tripped through closure serialization as the engine
 * does, against the local fake Fly API: find before create, adoption, lost
 * create responses, rate limits, drift on read, refusing to delete a
 * protected app, and secret values that never reach a log line, an error or
 * a drift entry.
 */
import { strict as assert } from "assert";
import type * as pulumi from "@pulumi/pulumi";
import { flyAppProvider, FlyAppInputs, FlyAppOutputs } from "../../components/backend/fly/app";
import { flyCertificateProvider, FlyCertificateInputs, FlyCertificateOutputs, MISSING } from "../../components/backend/fly/certificate";
import { flyIpAddressesProvider, FlyIpAddressesInputs, FlyIpAddressesOutputs } from "../../components/backend/fly/ips";
import { flySecretsProvider, FlySecretsInputs, FlySecretsOutputs } from "../../components/backend/fly/secrets";
import { flyClient } from "../../components/vendors/fly";
import { FakeFly, setFlyEnv } from "../support/fakeFly";
import { captureConsole, serializedProvider, unconfigure } from "../support/serializedProvider";

type P<I, O> = pulumi.dynamic.ResourceProvider<I, O>;

/** Runs fn with the providers' console output captured. */
const logged = captureConsole;
const quiet = <T>(fn: () => Promise<T>): Promise<T> => captureConsole(fn).then((r) => r.result);

async function created<I, O>(p: P<I, O>, inputs: I): Promise<{ id: string; outs: O }> {
    const checked = await p.check!({} as I, inputs);
    assert.deepEqual(checked.failures ?? [], [], JSON.stringify(checked.failures));
    const r = await p.create(checked.inputs!);
    return { id: r.id, outs: r.outs! };
}

const appInputs = (over: Partial<FlyAppInputs> = {}): FlyAppInputs => ({
    name: "keel-web",
    orgSlug: "personal",
    stack: "prod",
    protect: false,
    allowDelete: false,
    ...over,
});

describe("Fly providers for the app, IPs, certificates and secrets (serialized, against the fake Fly API)", () => {
    let fake: FakeFly;
    let restoreEnv: () => void;
    let app: P<FlyAppInputs, FlyAppOutputs>;
    let ips: P<FlyIpAddressesInputs, FlyIpAddressesOutputs>;
    let cert: P<FlyCertificateInputs, FlyCertificateOutputs>;
    let secrets: P<FlySecretsInputs, FlySecretsOutputs>;
    let texts: string[];

    const posts = (path: RegExp) => fake.requests.filter((r) => r.method === "POST" && path.test(r.path));
    const fly = () => flyClient({ token: fake.token, baseUrl: fake.url });

    before(async () => {
        fake = await FakeFly.start();
        // The token and URL exist in this process before serialization, and no provider may capture them.
        restoreEnv = setFlyEnv({ FLY_API_TOKEN: fake.token, FLY_API_URL: fake.url });
        const s = await Promise.all([
            serializedProvider(flyAppProvider),
            serializedProvider(flyIpAddressesProvider),
            serializedProvider(flyCertificateProvider),
            serializedProvider(flySecretsProvider),
        ]);
        [app, ips, cert, secrets] = [s[0].provider, s[1].provider, s[2].provider, s[3].provider];
        texts = s.map((x) => x.text);
    });
    after(async () => {
        restoreEnv?.();
        await fake?.stop();
    });
    beforeEach(() => fake.reset());

    it("hands the engine a small stand-in per provider that names its module, without the token", () => {
        for (const text of texts) {
            assert.match(text, /load\("components\/backend\/fly\/\w+"\)/);
            assert.ok(text.length < 1500, `${text.length} bytes`);
            assert.ok(!text.includes(fake.token), "a provider captured the Fly token");
        }
    });

    it("takes the token and URL from the provider's configure() when the environment has none", async () => {
        const { provider, text } = await serializedProvider(flyAppProvider);
        const restore = setFlyEnv({ FLY_API_TOKEN: undefined, FLY_API_URL: undefined });
        try {
            await assert.rejects(
                quiet(() => provider.create(appInputs())),
                (e: Error) => e.name === "FlyCredentialsError",
            );
            const config: Record<string, string> = { flyApiToken: fake.token, flyApiUrl: fake.url };
            await provider.configure!({ config: { get: (k: string) => config[k] } } as unknown as pulumi.dynamic.ConfigureRequest);
            const r = await quiet(() => provider.create(appInputs()));
            assert.equal(r.outs!.hostname, "keel-web.fly.dev");
            assert.ok(!text.includes(fake.token));
        } finally {
            await unconfigure(provider);
            restore();
        }
        assert.ok(fake.apps.has("keel-web"));
    });

    describe("FlyApp", () => {
        it("creates a new app once, reads it back and reports its hostname", async () => {
            const { result, lines } = await logged(() => created(app, appInputs()));
            assert.equal(result.id, "keel-web");
            assert.deepEqual(
                { ...result.outs, appId: result.outs.appId },
                {
                    ...appInputs(),
                    appId: "keel-web",
                    appName: "keel-web",
                    hostname: "keel-web.fly.dev",
                    status: "pending",
                    drift: [],
                    stateVersion: 1,
                },
            );
            assert.equal(posts(/^\/apps$/).length, 1);
            assert.equal(fake.apps.get("keel-web")!.org_slug, "personal");
            assert.ok(
                lines.some((l) => l.includes("creating Fly app 'keel-web' in organization 'personal'")),
                lines.join("\n"),
            );
        });

        it("adopts an app that exists in the organization, without creating one", async () => {
            fake.seedApp("keel-web", "personal");
            const { result, lines } = await logged(() => created(app, appInputs()));
            assert.equal(result.outs.appId, "keel-web");
            assert.equal(posts(/^\/apps$/).length, 0);
            assert.ok(
                lines.some((l) => l.includes("exists in organization 'personal'; adopting it")),
                lines.join("\n"),
            );
        });

        it("recovers from a lost create response by looking again, not creating twice", async () => {
            fake.dropResponses("POST", /^\/apps$/);
            const { result, lines } = await logged(() => created(app, appInputs()));
            assert.equal(result.outs.hostname, "keel-web.fly.dev");
            assert.equal(posts(/^\/apps$/).length, 1, "one create request");
            assert.ok(posts(/^\/apps$/)[0].dropped);
            assert.ok(
                lines.some((l) => l.includes("response to the create request was lost")),
                lines.join("\n"),
            );
            assert.ok(
                lines.some((l) => l.includes("adopting it")),
                lines.join("\n"),
            );
        });

        it("refuses an app of another organization, naming both and the fix", async () => {
            fake.seedApp("keel-web", "acme-corp");
            await assert.rejects(
                quiet(() => app.create(appInputs())),
                (e: Error) => {
                    assert.equal(e.name, "FlyAppError");
                    assert.match(e.message, /'acme-corp'/);
                    assert.match(e.message, /'personal'/);
                    assert.match(e.message, /npm run pulumi -- config set --path keel:backend\.fly\.org acme-corp --stack prod/);
                    return true;
                },
            );
            assert.equal(posts(/^\/apps$/).length, 0);
        });

        it("says clearly when the name is taken by an app the token cannot see", async () => {
            fake.inject({ method: "POST", path: /^\/apps$/, status: 422, error: "app name keel-web has already been taken" });
            await assert.rejects(
                quiet(() => app.create(appInputs())),
                (e: Error) => {
                    assert.equal(e.name, "FlyAppError");
                    assert.match(e.message, /name 'keel-web' is taken by an app this token cannot see/);
                    assert.match(e.message, /keel:backend\.fly\.app/);
                    return true;
                },
            );
            assert.ok(!fake.apps.has("keel-web"));
        });

        it("waits out Fly's 429 answers (rate-limit mode) and reports the retries", async () => {
            const limited = await FakeFly.start({ rateLimit: true, token: fake.token });
            const restore = setFlyEnv({ FLY_API_URL: limited.url });
            try {
                limited.inject({ method: "GET", path: /^\/apps\/keel-web$/, status: 429, retryAfter: "1" });
                limited.inject({ method: "POST", path: /^\/apps$/, status: 429, retryAfter: "0", times: 2 });
                const { result, lines } = await logged(() => created(app, appInputs()));
                assert.equal(result.outs.appName, "keel-web");
                assert.equal(limited.requests.filter((r) => r.status === 429).length, 3);
                assert.equal(limited.requests.filter((r) => r.method === "POST" && r.path === "/apps" && r.status === 201).length, 1);
                assert.ok(lines.filter((l) => l.includes("429")).length >= 3, lines.join("\n"));
                // Honouring Retry-After is read off the client's own scheduler (it reports the delay it then sleeps), not timed.
                assert.ok(
                    lines.some((l) => /GET \/apps\/keel-web: retrying in 1s \(429 Too Many Requests\)/.test(l)),
                    lines.join("\n"),
                );
            } finally {
                restore();
                await limited.stop();
            }
        });

        it("read: drops an app deleted by hand, and reports a suspended or moved app as drift", async () => {
            const { id, outs } = await quiet(() => created(app, appInputs()));
            const same = await quiet(() => app.read!(id, outs));
            assert.deepEqual(same.props!.drift, []);

            fake.apps.get("keel-web")!.status = "suspended";
            fake.apps.get("keel-web")!.org_slug = "acme-corp";
            const { result, lines } = await logged(() => app.read!(id, outs));
            assert.equal(result.id, id);
            assert.equal(result.props!.status, "suspended");
            assert.deepEqual(result.props!.drift, [
                "~ orgSlug: 'personal' -> 'acme-corp' (moved to another organization outside Keel)",
                "~ status: pending -> suspended (suspended outside Keel)",
            ]);
            assert.ok(lines.some((l) => l.includes("drift in Fly app 'keel-web'")));

            fake.apps.delete("keel-web");
            const gone = await logged(() => app.read!(id, outs));
            assert.equal(gone.result.id, "");
            assert.ok(
                gone.lines.some((l) => l.includes("no longer exists in Fly")),
                gone.lines.join("\n"),
            );
        });

        it("diff: another name or organization replaces the app; protect changes it in place", async () => {
            const olds = {
                ...appInputs(),
                appId: "keel-web",
                appName: "keel-web",
                hostname: "keel-web.fly.dev",
                status: "deployed",
                drift: [],
            };
            assert.deepEqual(await app.diff!("keel-web", olds, appInputs({ name: "keel-api" })), {
                changes: true,
                replaces: ["name"],
                deleteBeforeReplace: false,
            });
            assert.deepEqual(await app.diff!("keel-web", olds, appInputs({ orgSlug: "acme" })), {
                changes: true,
                replaces: ["orgSlug"],
                deleteBeforeReplace: true,
            });
            assert.deepEqual(await app.diff!("keel-web", olds, appInputs({ protect: true })), {
                changes: true,
                replaces: [],
                deleteBeforeReplace: false,
            });
            assert.equal((await app.diff!("keel-web", olds, appInputs())).changes, false);
            const updated = await quiet(async () => {
                fake.seedApp("keel-web");
                return app.update!("keel-web", olds, appInputs({ protect: true }));
            });
            assert.equal(updated.outs!.protect, true);
        });

        it("refuses to delete a protected app, saying how to delete it on purpose; deletes it when allowed", async () => {
            const { id, outs } = await quiet(() => created(app, appInputs({ protect: true })));
            await assert.rejects(
                quiet(() => app.delete!(id, outs)),
                (e: Error) => {
                    assert.equal(e.name, "FlyProtectedError");
                    assert.ok(
                        e.message.includes("npm run pulumi -- config set --path keel:backend.allowDelete true --stack prod"),
                        e.message,
                    );
                    assert.ok(e.message.includes("npm run up -- prod"), e.message);
                    assert.ok(e.message.includes("npm run destroy -- prod"), e.message);
                    return true;
                },
            );
            assert.ok(fake.apps.has("keel-web"));
            assert.equal(fake.requests.filter((r) => r.method === "DELETE").length, 0);

            await quiet(() => app.delete!(id, { ...outs, allowDelete: true }));
            assert.ok(!fake.apps.has("keel-web"));
            await quiet(() => app.delete!(id, { ...outs, protect: false })); // gone already: fine
        });
    });

    describe("FlyIpAddresses", () => {
        const all: FlyIpAddressesInputs = { app: "keel-web", sharedIpv4: true, ipv6: true };

        it("allocates a shared IPv4 and a dedicated IPv6, and records them as its own", async () => {
            fake.seedApp("keel-web");
            const { id, outs } = await quiet(() => created(ips, all));
            assert.equal(id, "keel-web/ips");
            assert.match(outs.ipv4!, /^\d+\.\d+\.\d+\.\d+$/);
            assert.match(outs.ipv6Address!, /:/);
            assert.deepEqual(outs.allocated, [outs.ipv4, outs.ipv6Address].sort());
            assert.deepEqual(
                posts(/ip_assignments$/)
                    .map((r) => r.body.type)
                    .sort(),
                ["shared_v4", "v6"],
            );
            const onFly = fake.apps.get("keel-web")!.ips;
            assert.deepEqual(onFly.map((i) => i.type).sort(), ["shared_v4", "v6"]);
            // Only what was asked for.
            fake.reset();
            fake.seedApp("keel-web");
            const v4only = await quiet(() => created(ips, { ...all, ipv6: false }));
            assert.equal(v4only.outs.ipv6Address, undefined);
            assert.equal(fake.apps.get("keel-web")!.ips.length, 1);
        });

        it("adopts the addresses the app has, and never releases them", async () => {
            fake.seedApp("keel-web");
            const v6 = await fly().assignIp("keel-web", { type: "v6" });
            const v4 = await fly().assignIp("keel-web", { type: "shared_v4" });
            await fly().assignIp("keel-web", { type: "private_v6" });
            const before = posts(/ip_assignments$/).length;
            const { result, lines } = await logged(() => created(ips, all));
            assert.equal(posts(/ip_assignments$/).length, before, "nothing allocated");
            assert.equal(result.outs.ipv4, v4.ip);
            assert.equal(result.outs.ipv6Address, v6.ip);
            assert.deepEqual(result.outs.allocated, []);
            assert.ok(
                lines.some((l) => l.includes(`has the dedicated IPv6 ${v6.ip}; adopting it`)),
                lines.join("\n"),
            );
            await quiet(() => ips.delete!(result.id, result.outs));
            assert.equal(fake.apps.get("keel-web")!.ips.length, 3);
        });

        it("does not allocate a second IPv6 when the allocation's response is lost", async () => {
            fake.seedApp("keel-web");
            fake.dropResponses("POST", /ip_assignments$/);
            const { outs } = await quiet(() => created(ips, { ...all, sharedIpv4: false }));
            const v6s = fake.apps.get("keel-web")!.ips.filter((i) => i.type === "v6");
            assert.equal(v6s.length, 1);
            assert.equal(outs.ipv6Address, v6s[0].ip);
            assert.deepEqual(outs.allocated, [v6s[0].ip]);
            assert.equal(posts(/ip_assignments$/).length, 1);
        });

        it("read: an address released by hand is drift, and the next up allocates one again", async () => {
            fake.seedApp("keel-web");
            const { id, outs } = await quiet(() => created(ips, all));
            assert.equal((await quiet(() => ips.read!(id, outs))).props!.drift.length, 0);
            await fly().releaseIp("keel-web", outs.ipv6Address!);
            const { result, lines } = await logged(() => ips.read!(id, outs));
            const props = result.props!;
            assert.equal(props.drift.length, 1);
            assert.match(
                props.drift[0],
                new RegExp(`ipv6Address: the IPv6 ${outs.ipv6Address!.replace(/[.:]/g, "\\$&")} was released outside Keel`),
            );
            assert.equal(props.ipv6Address, undefined);
            assert.equal(props.ipv4, outs.ipv4);
            assert.deepEqual(props.allocated, [outs.ipv4]);
            assert.ok(lines.some((l) => l.includes("drift in the IP addresses")));

            const diff = await ips.diff!(id, props, all);
            assert.equal(diff.changes, true);
            const repaired = (await quiet(() => ips.update!(id, props, all))).outs!;
            assert.ok(repaired.ipv6Address && repaired.ipv6Address !== outs.ipv6Address);
            assert.deepEqual(repaired.allocated, [repaired.ipv4, repaired.ipv6Address].sort());
            assert.equal((await ips.diff!(id, repaired, all)).changes, false);

            fake.apps.delete("keel-web");
            assert.equal((await quiet(() => ips.read!(id, repaired))).id, "");
        });

        it("releases only the addresses it allocated: on delete, and when one is no longer asked for", async () => {
            fake.seedApp("keel-web");
            const adoptedV4 = await fly().assignIp("keel-web", { type: "shared_v4" });
            const { id, outs } = await quiet(() => created(ips, all));
            assert.deepEqual(outs.allocated, [outs.ipv6Address]);

            const noV6 = (await quiet(() => ips.update!(id, outs, { ...all, ipv6: false }))).outs!;
            assert.equal(noV6.ipv6Address, undefined);
            assert.deepEqual(noV6.allocated, []);
            assert.deepEqual(
                fake.apps.get("keel-web")!.ips.map((i) => i.ip),
                [adoptedV4.ip],
            );

            const again = (await quiet(() => ips.update!(id, noV6, all))).outs!;
            await quiet(() => ips.delete!(id, again));
            assert.deepEqual(
                fake.apps.get("keel-web")!.ips.map((i) => i.ip),
                [adoptedV4.ip],
            );
            fake.apps.delete("keel-web");
            await quiet(() => ips.delete!(id, again)); // gone with the app: fine
        });
    });

    describe("FlyCertificate", () => {
        const sub: FlyCertificateInputs = { app: "keel-web", hostname: "api.example.com" };

        async function appWithIps(): Promise<{ v4: string; v6: string }> {
            fake.seedApp("keel-web");
            const v4 = await fly().assignIp("keel-web", { type: "shared_v4" });
            const v6 = await fly().assignIp("keel-web", { type: "v6" });
            return { v4: v4.ip!, v6: v6.ip! };
        }

        it("requests a certificate and logs the DNS records to create (a CNAME for a subdomain)", async () => {
            await appWithIps();
            const { result, lines } = await logged(() => created(cert, sub));
            assert.equal(result.id, "keel-web/api.example.com");
            assert.equal(result.outs.status, "pending_validation");
            const acme = fake.apps.get("keel-web")!.certificates.get("api.example.com")!;
            assert.deepEqual(result.outs.dnsRecords, [
                { type: "CNAME", name: "api.example.com", value: "keel-web.fly.dev" },
                { type: "CNAME", name: "_acme-challenge.api.example.com", value: acme.acmeTarget },
            ]);
            assert.deepEqual(
                posts(/certificates\/acme$/).map((r) => r.body),
                [{ hostname: "api.example.com" }],
            );
            const line = lines.find((l) => l.includes("Create these DNS records for api.example.com"));
            assert.ok(line, lines.join("\n"));
            assert.ok(line.includes("CNAME api.example.com -> keel-web.fly.dev") && line.includes(acme.acmeTarget), line);
        });

        it("an apex domain gets A and AAAA records (it cannot have a CNAME)", async () => {
            const { v4, v6 } = await appWithIps();
            const { outs } = await quiet(() => created(cert, { app: "keel-web", hostname: "example.com" }));
            assert.deepEqual(
                outs.dnsRecords.filter((r) => r.name === "example.com"),
                [
                    { type: "A", name: "example.com", value: v4 },
                    { type: "AAAA", name: "example.com", value: v6 },
                ],
            );
        });

        it("adopts an existing certificate, and does not request a second one when the response is lost", async () => {
            await appWithIps();
            await fly().requestAcmeCertificate("keel-web", "api.example.com");
            const before = posts(/certificates\/acme$/).length;
            const adopted = await logged(() => created(cert, sub));
            assert.equal(posts(/certificates\/acme$/).length, before);
            assert.ok(adopted.lines.some((l) => l.includes("exists; adopting it")));

            fake.reset();
            await appWithIps();
            fake.dropResponses("POST", /certificates\/acme$/);
            const { outs } = await quiet(() => created(cert, sub));
            assert.equal(posts(/certificates\/acme$/).length, 1);
            assert.equal(outs.status, "pending_validation");
            assert.equal(fake.apps.get("keel-web")!.certificates.size, 1);
        });

        it("says which hostname another app holds", async () => {
            await appWithIps();
            fake.seedApp("other-app");
            await fly().requestAcmeCertificate("other-app", "api.example.com");
            await assert.rejects(
                quiet(() => cert.create(sub)),
                (e: Error) => e.name === "FlyCertificateError" && e.message.includes("fly certs remove api.example.com -a <other app>"),
            );
        });

        it("read: a status change and a certificate removed by hand are drift; the next up requests it again", async () => {
            await appWithIps();
            const { id, outs } = await quiet(() => created(cert, sub));
            assert.deepEqual((await quiet(() => cert.read!(id, outs))).props!.drift, []);

            fake.apps.get("keel-web")!.certificates.get("api.example.com")!.status = "active";
            const active = (await quiet(() => cert.read!(id, outs))).props!;
            assert.deepEqual(active.drift, ["~ status: pending_validation -> active"]);
            assert.equal(active.status, "active");
            assert.equal((await cert.diff!(id, active, sub)).changes, false);

            await fly().deleteCertificate("keel-web", "api.example.com");
            const { result, lines } = await logged(() => cert.read!(id, active));
            assert.equal(result.id, id);
            assert.equal(result.props!.status, MISSING);
            assert.match(result.props!.drift[0], /api\.example\.com on Fly app 'keel-web' was removed outside Keel/);
            assert.ok(lines.some((l) => l.includes("removed outside Keel")));
            assert.equal((await cert.diff!(id, result.props!, sub)).changes, true);
            const again = (await quiet(() => cert.update!(id, result.props!, sub))).outs!;
            assert.equal(again.status, "pending_validation");
            assert.ok(fake.apps.get("keel-web")!.certificates.has("api.example.com"));
        });

        it("deletes the certificate (and a missing one is fine)", async () => {
            await appWithIps();
            const { id, outs } = await quiet(() => created(cert, sub));
            await quiet(() => cert.delete!(id, outs));
            assert.equal(fake.apps.get("keel-web")!.certificates.size, 0);
            await quiet(() => cert.delete!(id, outs));
            assert.deepEqual((await cert.diff!(id, outs, { ...sub, hostname: "www.example.com" })).replaces, ["hostname"]);
        });
    });

    describe("FlySecrets", () => {
        const VALUES = { DATABASE_URL: "postgres://app:pw-Very-Secret-1@db/app", API_KEY: "sk_live_Very-Secret-2" };
        const NEW_KEY = "sk_live_Very-Secret-3";
        const BY_HAND = "by-hand-Very-Secret-4";
        const ALL_VALUES = [...Object.values(VALUES), NEW_KEY, BY_HAND, "Very-Secret"];

        const noValue = (texts: string[]) => {
            for (const t of texts) for (const v of ALL_VALUES) assert.ok(!t.includes(v), `a secret value was in: ${t}`);
        };

        it("sets every value in one call, records digests and version; an update also unsets names no longer managed", async () => {
            fake.seedApp("keel-web");
            await fly().updateSecrets("keel-web", { OTHER: "not-keels" });
            const { result, lines } = await logged(() => created(secrets, { app: "keel-web", values: VALUES }));
            const outs = result.outs;
            assert.equal(posts(/\/secrets$/).length, 2);
            assert.deepEqual(posts(/\/secrets$/)[1].body, { values: VALUES });
            assert.deepEqual(outs.names, ["API_KEY", "DATABASE_URL"]);
            assert.equal(outs.version, 2);
            const listed = await fly().listSecrets("keel-web");
            assert.deepEqual(outs.digests, Object.fromEntries(listed.filter((s) => s.name !== "OTHER").map((s) => [s.name, s.digest])));
            assert.ok(
                lines.some((l) => l.includes("API_KEY, DATABASE_URL")),
                lines.join("\n"),
            );

            const news = { app: "keel-web", values: { API_KEY: NEW_KEY } };
            assert.equal((await secrets.diff!(result.id, outs, news)).changes, true);
            assert.equal((await secrets.diff!(result.id, outs, { app: "keel-web", values: { ...VALUES } })).changes, false);
            const updated = await logged(() => secrets.update!(result.id, outs, news));
            assert.equal(posts(/\/secrets$/).length, 3);
            assert.deepEqual(posts(/\/secrets$/)[2].body, { values: { API_KEY: NEW_KEY, DATABASE_URL: null } });
            assert.deepEqual([...fake.apps.get("keel-web")!.secrets.keys()].sort(), ["API_KEY", "OTHER"]);
            assert.equal(fake.apps.get("keel-web")!.secrets.get("API_KEY")!.value, NEW_KEY);
            assert.deepEqual(updated.result.outs!.names, ["API_KEY"]);
            assert.equal(updated.result.outs!.version, 3);
            assert.notEqual(updated.result.outs!.digests.API_KEY, outs.digests.API_KEY);
            noValue([...lines, ...updated.lines]);
        });

        it("read: a managed secret changed or removed by hand is drift naming it only; the values stay and the next up resets them", async () => {
            fake.seedApp("keel-web");
            const { id, outs } = await quiet(() => created(secrets, { app: "keel-web", values: VALUES }));
            assert.deepEqual((await quiet(() => secrets.read!(id, outs))).props!.drift, []);

            await fly().setSecret("keel-web", "API_KEY", BY_HAND);
            await fly().deleteSecret("keel-web", "DATABASE_URL");
            await fly().setSecret("keel-web", "UNMANAGED", BY_HAND);
            const { result, lines } = await logged(() => secrets.read!(id, outs));
            const props = result.props!;
            assert.deepEqual(props.drift, [
                "~ API_KEY: changed outside Keel; the next 'pulumi up' sets Keel's value again",
                "- DATABASE_URL: removed outside Keel; the next 'pulumi up' sets it again",
            ]);
            assert.deepEqual(props.values, VALUES);
            assert.deepEqual(props.digests, outs.digests);
            noValue([...lines, ...props.drift]);

            // A second refresh still sees it (Keel's digests are kept).
            assert.equal((await quiet(() => secrets.read!(id, props))).props!.drift.length, 2);
            assert.equal((await secrets.diff!(id, props, { app: "keel-web", values: VALUES })).changes, true);
            const reset = (await quiet(() => secrets.update!(id, props, { app: "keel-web", values: VALUES }))).outs!;
            assert.equal(fake.apps.get("keel-web")!.secrets.get("API_KEY")!.value, VALUES.API_KEY);
            assert.equal(fake.apps.get("keel-web")!.secrets.get("DATABASE_URL")!.value, VALUES.DATABASE_URL);
            assert.deepEqual(reset.drift, []);
            assert.deepEqual((await quiet(() => secrets.read!(id, reset))).props!.drift, []);

            fake.apps.delete("keel-web");
            assert.equal((await quiet(() => secrets.read!(id, reset))).id, "");
        });

        it("delete unsets only the managed names; a deleted app is fine", async () => {
            fake.seedApp("keel-web");
            await fly().updateSecrets("keel-web", { OTHER: "not-keels" });
            const { id, outs } = await quiet(() => created(secrets, { app: "keel-web", values: VALUES }));
            await quiet(() => secrets.delete!(id, outs));
            assert.deepEqual([...fake.apps.get("keel-web")!.secrets.keys()], ["OTHER"]);
            fake.apps.delete("keel-web");
            await quiet(() => secrets.delete!(id, outs));
        });

        it("never puts a value in a log line, an error, a check failure or the serialized provider", async () => {
            const { lines } = await logged(async () => {
                // The app does not exist: the error names the request, not the values.
                await assert.rejects(secrets.create({ app: "keel-web", values: VALUES }), (e: Error) => {
                    noValue([e.message, e.stack ?? "", JSON.stringify(e)]);
                    return true;
                });
                fake.seedApp("keel-web");
                fake.inject({ method: "POST", path: /\/secrets$/, status: 500, times: 2 });
                const { id, outs } = await created(secrets, { app: "keel-web", values: VALUES });
                fake.inject({ method: "POST", path: /\/secrets$/, status: 400, error: "value of API_KEY is invalid" });
                await assert.rejects(secrets.update!(id, outs, { app: "keel-web", values: { API_KEY: NEW_KEY } }), (e: Error) => {
                    noValue([e.message, e.stack ?? "", JSON.stringify(e)]);
                    return /400/.test(e.message);
                });
                await fly().setSecret("keel-web", "API_KEY", BY_HAND);
                const read = await secrets.read!(id, outs);
                noValue(read.props!.drift);
                await secrets.update!(id, read.props!, { app: "keel-web", values: { API_KEY: NEW_KEY } });
                await secrets.delete!(id, outs);
            });
            assert.ok(lines.length >= 5, lines.join("\n"));
            assert.ok(
                lines.some((l) => l.includes("retrying")),
                lines.join("\n"),
            );
            noValue(lines);

            const checked = await secrets.check!({} as FlySecretsInputs, {
                app: "keel-web",
                values: { "BAD NAME": "Very-Secret-x", NUM: 4242 as unknown as string },
            });
            assert.equal(checked.failures!.length, 2);
            noValue(checked.failures!.map((f) => f.reason));
            assert.ok(!checked.failures!.some((f) => f.reason.includes("4242")));
            for (const text of texts) noValue([text]);
        });
    });
});
