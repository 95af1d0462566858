/**
 * The health gate: its provider round-tripped through closure serialization
 * (as the engine runs it) against local HTTP servers that fail a few times,
 * never recover, hang or are not there; its diff and check rules; and the
 * probing loop driven by a fake clock.
 */
import { strict as assert } from "assert";
import * as http from "http";
import { AddressInfo } from "net";
import * as pulumi from "@pulumi/pulumi";
import { HealthGate, healthGateProvider, HealthGateInputs, HealthGateOutputs } from "../../components/backend/healthGate";
import { describeAttempt, describeFetchError, probeHealth, probeOnce, redactUrl } from "../../components/backend/healthProbe";
import { captureConsole, serializedProvider } from "../support/serializedProvider";
import { rejection } from "../support/migrationsDir";

type Provider = pulumi.dynamic.ResourceProvider<HealthGateInputs, HealthGateOutputs>;

const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

interface TestServer {
    base: string;
    requests: { url: string; authorization?: string }[];
    close(): Promise<void>;
}

/** A local server on port 0; `respond` gets the 1-based request number. */
async function startServer(respond: (n: number, req: http.IncomingMessage, res: http.ServerResponse) => void): Promise<TestServer> {
    const requests: TestServer["requests"] = [];
    const server = http.createServer((req, res) => {
        requests.push({ url: req.url ?? "", authorization: req.headers.authorization });
        respond(requests.length, req, res);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    return {
        base: `http://127.0.0.1:${port}`,
        requests,
        close: () =>
            new Promise<void>((resolve) => {
                server.closeAllConnections();
                server.close(() => resolve());
            }),
    };
}

/** A port nothing listens on (bound, then released). */
async function closedPort(): Promise<number> {
    const server = http.createServer();
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    return port;
}

function answer(res: http.ServerResponse, status: number, body: string): void {
    res.writeHead(status, { "content-type": "text/plain" });
    res.end(body);
}

function inputs(url: string, extra: Partial<HealthGateInputs> = {}): HealthGateInputs {
    return {
        url,
        timeoutSeconds: 10,
        intervalSeconds: 0.05,
        release: "registry.fly.io/keel-app@sha256:abc v42",
        logsHint: "fly logs -a keel-app",
        ...extra,
    };
}

describe("HealthGate provider (serialized)", () => {
    let provider: Provider;
    const servers: TestServer[] = [];

    before(async () => {
        provider = (await serializedProvider(healthGateProvider)).provider;
    });

    afterEach(async () => {
        await Promise.all(servers.splice(0).map((s) => s.close()));
    });

    async function server(respond: Parameters<typeof startServer>[0]): Promise<TestServer> {
        const s = await startServer(respond);
        servers.push(s);
        return s;
    }

    it("create passes once the service answers 2xx, counting attempts and printing a line per failed one", async () => {
        const s = await server((n, _req, res) => (n <= 3 ? answer(res, 503, "starting") : answer(res, 200, "ok")));
        const { result, lines } = await captureConsole(() => provider.create!(inputs(`${s.base}/healthz`)));
        const outs = result.outs!;
        assert.equal(outs.status, 200);
        assert.equal(outs.attempts, 4);
        assert.ok(result.id.length > 0);
        assert.ok(!Number.isNaN(Date.parse(outs.checkedAt)));
        assert.equal(typeof outs.latencyMs, "number");
        assert.equal(outs.release, "registry.fly.io/keel-app@sha256:abc v42");
        assert.equal(s.requests.length, 4);
        const progress = lines.filter((l) => l.includes("answered 503"));
        assert.equal(progress.length, 3, lines.join("\n"));
        for (const [i, line] of progress.entries()) {
            assert.match(
                line,
                new RegExp(
                    `keel health: http://127\\.0\\.0\\.1:\\d+/healthz answered 503 \\(attempt ${i + 1}, [\\d.]+s of 10s\\); retrying in 0\\.05s`,
                ),
            );
        }
        assert.ok(
            lines.some((l) => /answered 200 after 4 attempts/.test(l)),
            lines.join("\n"),
        );
    });

    it("update probes again and returns the new inputs with the new result", async () => {
        const s = await server((n, _req, res) => (n === 1 ? answer(res, 502, "bad gateway") : answer(res, 204, "")));
        const olds: HealthGateOutputs = {
            ...inputs(`${s.base}/healthz`),
            status: 200,
            checkedAt: "2020-01-01T00:00:00.000Z",
            attempts: 1,
            latencyMs: 3,
        };
        const news = inputs(`${s.base}/healthz`, { release: "v43" });
        const { result } = await captureConsole(() => provider.update!("gate-1", olds, news));
        assert.equal(result.outs!.status, 204);
        assert.equal(result.outs!.attempts, 2);
        assert.equal(result.outs!.release, "v43");
        assert.notEqual(result.outs!.checkedAt, olds.checkedAt);
    });

    it("fails with HealthGateError naming the URL, attempts, last status, a short body snippet and the logs hint", async () => {
        const body = "<html>\n  <h1>Service   Unavailable</h1>\n" + "x".repeat(400) + "TAILMARK";
        const s = await server((_n, _req, res) => answer(res, 503, body));
        const { result: err, lines } = await captureConsole(() =>
            rejection(provider.create!(inputs(`${s.base}/healthz`, { timeoutSeconds: 1, intervalSeconds: 0.2 }))),
        );
        assert.equal(err.name, "HealthGateError");
        const attempts = s.requests.length;
        assert.ok(attempts >= 2, `expected retries, got ${attempts}`);
        assert.ok(err.message.includes(`${s.base}/healthz did not answer 2xx within 1s (${attempts} attempts)`), err.message);
        assert.ok(err.message.includes(`last answer: 503 Service Unavailable: "<html> <h1>Service Unavailable</h1> xxx`), err.message);
        assert.ok(!err.message.includes("TAILMARK"), "the snippet is cut");
        const snippet = /"(.*)"/.exec(err.message)![1];
        assert.ok(snippet.length <= 200, `snippet is ${snippet.length} chars`);
        assert.ok(err.message.includes("is deployed but not answering; look at: fly logs -a keel-app"), err.message);
        assert.equal(lines.filter((l) => l.includes("answered 503")).length, attempts - 1);
    });

    it("names ECONNREFUSED when nothing listens", async () => {
        const port = await closedPort();
        const err = await captureConsole(() =>
            rejection(provider.create!(inputs(`http://127.0.0.1:${port}/healthz`, { timeoutSeconds: 1, intervalSeconds: 0.2 }))),
        );
        assert.equal(err.result.name, "HealthGateError");
        assert.match(err.result.message, /last answer: connection refused \(ECONNREFUSED\)/);
        assert.ok(
            err.lines.some((l) => /did not answer: connection refused \(ECONNREFUSED\) \(attempt 1,/.test(l)),
            err.lines.join("\n"),
        );
    });

    it("never shows the query string or userinfo, but still sends them", async () => {
        const s = await server((_n, _req, res) => answer(res, 401, "unauthorized"));
        const url = `http://probe:hunter2@${s.base.slice("http://".length)}/healthz?token=secret`;
        const { result: err, lines } = await captureConsole(() =>
            rejection(provider.create!(inputs(url, { timeoutSeconds: 1, intervalSeconds: 0.3 }))),
        );
        const text = [err.message, ...lines].join("\n");
        assert.ok(err.message.includes(`${s.base}/healthz did not answer`), err.message);
        assert.ok(!text.includes("secret"), text);
        assert.ok(!text.includes("token="), text);
        assert.ok(!text.includes("hunter2"), text);
        assert.equal(s.requests[0].url, "/healthz?token=secret");
        assert.equal(s.requests[0].authorization, `Basic ${Buffer.from("probe:hunter2").toString("base64")}`);
    });

    it("diff: url, release, timeoutSeconds and intervalSeconds are changes, never replacements; logsHint alone is not", async () => {
        const olds: HealthGateOutputs = {
            ...inputs("https://keel-app.fly.dev/healthz"),
            status: 200,
            checkedAt: "2020-01-01T00:00:00.000Z",
            attempts: 1,
            latencyMs: 3,
        };
        const same = await provider.diff!("gate-1", olds, inputs("https://keel-app.fly.dev/healthz"));
        assert.equal(same.changes, false);
        const hint = await provider.diff!(
            "gate-1",
            olds,
            inputs("https://keel-app.fly.dev/healthz", { logsHint: "https://dashboard.render.com/web/srv-1/logs" }),
        );
        assert.equal(hint.changes, false);
        const variants: Partial<HealthGateInputs>[] = [
            { url: "https://keel-app.fly.dev/health" },
            { release: "v43" },
            { timeoutSeconds: 120 },
            { intervalSeconds: 5 },
            { release: UNKNOWN },
        ];
        for (const v of variants) {
            const d = await provider.diff!("gate-1", olds, inputs(v.url ?? "https://keel-app.fly.dev/healthz", v));
            assert.equal(d.changes, true, JSON.stringify(v));
            assert.deepEqual(d.replaces ?? [], [], JSON.stringify(v));
        }
    });

    it("read keeps the props when the service is down, warning once", async () => {
        const port = await closedPort();
        const props: HealthGateOutputs = {
            ...inputs(`http://127.0.0.1:${port}/healthz?token=secret`),
            status: 200,
            checkedAt: "2020-01-01T00:00:00.000Z",
            attempts: 2,
            latencyMs: 9,
        };
        const { result, lines } = await captureConsole(() => provider.read!("gate-1", props));
        assert.equal(result.id, "gate-1");
        assert.deepEqual(result.props, { ...props, stateVersion: 1 }); // state from before versions is stamped as v1
        const warns = lines.filter((l) => l.startsWith("warning:"));
        assert.equal(warns.length, 1, lines.join("\n"));
        assert.match(warns[0], /is not healthy now: connection refused \(ECONNREFUSED\).*look at: fly logs -a keel-app/);
        assert.ok(!warns[0].includes("secret"));
    });

    it("read keeps the props without a warning when the service is healthy, probing once", async () => {
        const s = await server((_n, _req, res) => answer(res, 200, "ok"));
        const props: HealthGateOutputs = {
            ...inputs(`${s.base}/healthz`),
            status: 200,
            checkedAt: "2020-01-01T00:00:00.000Z",
            attempts: 2,
            latencyMs: 9,
        };
        const { result, lines } = await captureConsole(() => provider.read!("gate-1", props));
        assert.deepEqual(result.props, { ...props, stateVersion: 1 }); // state from before versions is stamped as v1
        assert.equal(s.requests.length, 1);
        assert.equal(lines.filter((l) => l.startsWith("warning:")).length, 0, lines.join("\n"));
    });

    it("delete does nothing", async () => {
        const port = await closedPort();
        await provider.delete!("gate-1", {
            ...inputs(`http://127.0.0.1:${port}/healthz`),
            status: 200,
            checkedAt: "x",
            attempts: 1,
            latencyMs: 1,
        });
    });

    it("check accepts valid inputs and unknown values", async () => {
        const ok = await provider.check!(
            {} as any,
            inputs("https://keel-app.fly.dev/healthz", { timeoutSeconds: 120, intervalSeconds: 5 }),
        );
        assert.deepEqual(ok.failures, []);
        const edges = await provider.check!(
            {} as any,
            inputs("http://localhost:8080/healthz", { timeoutSeconds: 3600, intervalSeconds: 3600 }),
        );
        assert.deepEqual(edges.failures, []);
        const unknown = await provider.check!(
            {} as any,
            { url: UNKNOWN, timeoutSeconds: 120, intervalSeconds: 5, release: UNKNOWN, logsHint: "x" } as any,
        );
        assert.deepEqual(unknown.failures, []);
    });

    it("check names the property that is wrong", async () => {
        const failing = async (extra: Partial<HealthGateInputs>) => {
            const r = await provider.check!({} as any, {
                ...inputs("https://keel-app.fly.dev/healthz", { timeoutSeconds: 120, intervalSeconds: 5 }),
                ...extra,
            });
            return (r.failures ?? []).map((f) => f.property);
        };
        assert.deepEqual(await failing({ url: "ftp://keel-app.fly.dev/healthz" }), ["url"]);
        assert.deepEqual(await failing({ url: "/healthz" }), ["url"]);
        assert.deepEqual(await failing({ timeoutSeconds: 0 }), ["timeoutSeconds"]);
        assert.deepEqual(await failing({ timeoutSeconds: 3601, intervalSeconds: 5 }), ["timeoutSeconds"]);
        assert.deepEqual(await failing({ intervalSeconds: 0.5 }), ["intervalSeconds"]);
        assert.deepEqual(await failing({ intervalSeconds: 121 }), ["intervalSeconds"]);
        assert.deepEqual(await failing({ release: "" }), ["release"]);
        const r = await provider.check!({} as any, inputs("ftp://u:hunter2@keel-app.fly.dev/healthz?token=secret"));
        const reason = r.failures![0].reason;
        assert.ok(!reason.includes("secret") && !reason.includes("hunter2"), reason);
    });
});

describe("probeHealth", () => {
    let s: TestServer | undefined;
    afterEach(async () => {
        await s?.close();
        s = undefined;
    });

    it("on a fake clock: attempts every interval until the deadline, one progress line per retry", async () => {
        s = await startServer((_n, _req, res) => answer(res, 503, "down"));
        let clock = 1_000_000;
        const sleeps: number[] = [];
        const progress: string[] = [];
        const result = await probeHealth({
            url: `${s.base}/healthz`,
            timeoutSeconds: 120,
            intervalSeconds: 5,
            now: () => clock,
            sleep: async (ms) => {
                sleeps.push(ms);
                clock += ms;
            },
            onProgress: (m) => progress.push(m),
        });
        assert.equal(result.ok, false);
        assert.equal(result.attempts, 25);
        assert.equal(s.requests.length, 25);
        assert.equal(
            sleeps.reduce((a, b) => a + b, 0),
            120_000,
        );
        assert.equal(progress.length, 24);
        assert.equal(progress[2], `${s.base}/healthz answered 503 (attempt 3, 10s of 120s); retrying in 5s`);
        assert.equal(describeAttempt(result.last), `503 Service Unavailable: "down"`);
    });

    it("waits only what is left of the timeout before the last attempt", async () => {
        s = await startServer((_n, _req, res) => answer(res, 500, ""));
        let clock = 0;
        const sleeps: number[] = [];
        const result = await probeHealth({
            url: `${s.base}/`,
            timeoutSeconds: 12,
            intervalSeconds: 5,
            now: () => clock,
            sleep: async (ms) => {
                sleeps.push(ms);
                clock += ms;
            },
        });
        assert.deepEqual(sleeps, [5000, 5000, 2000]);
        assert.equal(result.attempts, 4);
    });

    it("maxAttempts stops early", async () => {
        s = await startServer((_n, _req, res) => answer(res, 503, ""));
        const result = await probeHealth({ url: `${s.base}/`, timeoutSeconds: 60, intervalSeconds: 1, maxAttempts: 1 });
        assert.equal(result.ok, false);
        assert.equal(result.attempts, 1);
    });

    it("names a timeout when the service accepts but does not answer", async () => {
        s = await startServer(() => undefined);
        const attempt = await probeOnce(`${s.base}/healthz`, 300);
        assert.equal(attempt.status, 0);
        assert.equal(attempt.error, "no answer within 0.3s (timeout)");
    });

    it("describes DNS, refused and other network errors by code", () => {
        const undici = (code: string, message: string) =>
            Object.assign(new TypeError("fetch failed"), { cause: Object.assign(new Error(message), { code }) });
        assert.equal(
            describeFetchError(undici("ENOTFOUND", "getaddrinfo ENOTFOUND keel-app.fly.dev"), 10_000),
            "DNS lookup failed (ENOTFOUND)",
        );
        assert.equal(
            describeFetchError(undici("EAI_AGAIN", "getaddrinfo EAI_AGAIN keel-app.fly.dev"), 10_000),
            "DNS lookup failed (EAI_AGAIN)",
        );
        assert.equal(
            describeFetchError(undici("ECONNREFUSED", "connect ECONNREFUSED 1.2.3.4:443"), 10_000),
            "connection refused (ECONNREFUSED)",
        );
        assert.equal(
            describeFetchError(undici("CERT_HAS_EXPIRED", "certificate has expired"), 10_000),
            "certificate has expired (CERT_HAS_EXPIRED)",
        );
        assert.equal(
            describeFetchError(Object.assign(new Error("aborted"), { name: "TimeoutError" }), 10_000),
            "no answer within 10s (timeout)",
        );
    });

    it("redactUrl drops userinfo, query and fragment", () => {
        assert.equal(redactUrl("https://u:p@keel-app.fly.dev:8443/healthz?token=secret#x"), "https://keel-app.fly.dev:8443/healthz");
        assert.equal(redactUrl("https://keel-app.fly.dev/healthz"), "https://keel-app.fly.dev/healthz");
        assert.equal(redactUrl("not a url?token=secret"), "not a url");
        assert.equal(redactUrl("weird://u:p@host/x?token=secret"), "weird://host/x");
    });
});

describe("HealthGate resource", () => {
    it("registers as pulumi-nodejs:dynamic/keel:HealthGate with its inputs", async () => {
        const registered: { type: string; inputs: any }[] = [];
        pulumi.runtime.setMocks(
            {
                newResource(a) {
                    registered.push({ type: a.type, inputs: a.inputs });
                    return { id: "gate-1", state: { ...a.inputs, status: 200, attempts: 1 } };
                },
                call: () => ({}),
            },
            "keel",
            "test",
        );
        const gate = new HealthGate("api-health", {
            url: "https://keel-app.fly.dev/healthz",
            timeoutSeconds: 120,
            intervalSeconds: 5,
            release: "v42",
            logsHint: "fly logs -a keel-app",
        });
        const status = await new Promise((resolve) => gate.status.apply(resolve));
        assert.equal(status, 200);
        const entry = registered.find((r) => r.type === "pulumi-nodejs:dynamic/keel:HealthGate");
        assert.ok(entry, JSON.stringify(registered.map((r) => r.type)));
        assert.equal(entry.inputs.url, "https://keel-app.fly.dev/healthz");
        assert.equal(entry.inputs.release, "v42");
    });
});
