/**
 * GithubPreviewEnvironment and the reaper's GitHub helpers, against the fake
 * GitHub API: a PR's environment preview-pr-<n> made (or adopted) with
 * GitHub's PUT, deleted (gone = done), refreshed; only previews' environments
 * listed and deleted by the helpers; a token without repository
 * administration gets the fix. Every request and answer is checked against
 * GitHub's OpenAPI description (@octokit/openapi).
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import type * as pulumi from "@pulumi/pulumi";
import {
    GithubPreviewEnvironmentInputs,
    GithubPreviewEnvironmentOutputs,
    githubPreviewEnvironmentProvider,
} from "../../components/previews/githubEnvironment";
import {
    deletePreviewEnvironment,
    EnvironmentTarget,
    GithubApiError,
    listPreviewEnvironments,
    putEnvironment,
} from "../../components/vendors/github";
import { FakeClock } from "../support/fakeClock";
import { FakeGithub, type LoggedGithubRequest, setGithubEnv } from "../support/fakeGithub";
import { DATE_TIME, OpenApiSpec } from "../support/openapi";
import { captureConsole, serializedProvider } from "../support/serializedProvider";

type Provider = pulumi.dynamic.ResourceProvider<GithubPreviewEnvironmentInputs, GithubPreviewEnvironmentOutputs>;
const REPO = "keel-org/keel";

let spec: OpenApiSpec | undefined;
function githubSpec(): OpenApiSpec {
    if (!spec) {
        const file = require.resolve("@octokit/openapi/generated/api.github.com.json");
        spec = new OpenApiSpec(JSON.parse(fs.readFileSync(file, "utf8")), {
            formats: { "date-time": DATE_TIME, uri: /^(https?:\/\/\S+)?$/, int64: true },
        });
    }
    return spec;
}

/** Where logged requests or their answers depart from GitHub's description; [] when none. */
function specProblems(requests: LoggedGithubRequest[]): string[] {
    const index = githubSpec();
    const problems: string[] = [];
    for (const r of requests) {
        const template = index.template(r.path);
        const op = template ? index.operation(r.method, template) : undefined;
        if (!template || !op) {
            problems.push(`${r.method} ${r.path}: no such operation`);
            continue;
        }
        const label = `${r.method} ${template} -> ${r.status}`;
        if (r.body !== undefined) {
            const at = index.requestSchema(r.method, template);
            if (at) problems.push(...index.validate(at, r.body).map((e) => `${label} request: ${e}`));
        }
        if (r.injected || r.status === undefined) continue;
        if (r.status >= 400) {
            problems.push(...index.validate(["components", "schemas", "basic-error"], r.response).map((e) => `${label} error: ${e}`));
            continue;
        }
        const response = index.responseSchema(r.method, template, r.status);
        if (!response.declared) problems.push(`${label}: a status the spec does not declare`);
        else if (response.at) problems.push(...index.validate(response.at, r.response).map((e) => `${label} response: ${e}`));
        else if (r.response !== undefined) problems.push(`${label}: a body where the spec declares none`);
    }
    return problems;
}

describe("GithubPreviewEnvironment (against the fake GitHub API)", function () {
    let fake: FakeGithub;
    let p: Provider;
    let restoreEnv: () => void;
    let target: EnvironmentTarget;

    before(async () => {
        fake = await FakeGithub.start({ clock: new FakeClock({ startMs: Date.UTC(2026, 11, 1) }) });
        restoreEnv = setGithubEnv({ GITHUB_TOKEN: fake.token, GITHUB_API_URL: fake.url });
        const s = await serializedProvider(githubPreviewEnvironmentProvider);
        p = s.provider;
        assert.ok(!s.text.includes(fake.token) && !s.text.includes(fake.url), "nothing captured in the provider's text");
    });
    after(async () => {
        restoreEnv();
        await fake.stop();
    });
    beforeEach(() => {
        fake.reset();
        target = { owner: "keel-org", repo: "keel", token: fake.token, baseUrl: fake.url };
    });
    afterEach(function () {
        if (this.currentTest?.state !== "passed") return;
        assert.deepEqual(specProblems(fake.requests), [], "requests or answers that depart from GitHub's OpenAPI description");
    });

    const inputs = (over: Partial<GithubPreviewEnvironmentInputs> = {}): GithubPreviewEnvironmentInputs => ({
        owner: "keel-org",
        repository: "keel",
        pr: 7,
        url: "https://app-pr-7.fly.dev",
        ...over,
    });
    const quiet = <T>(fn: () => Promise<T>) => captureConsole(fn).then((r) => r.result);
    const names = () => fake.environmentsOf(REPO).map((e) => e.name);

    it("creates preview-pr-<n> with GitHub's PUT; again (or adopting one that exists) makes no second", async () => {
        fake.addEnvironment(REPO, "staging");
        const made = await quiet(() => p.create(inputs()));
        assert.deepEqual(names(), ["staging", "preview-pr-7"]);
        const env = fake.environmentsOf(REPO)[1];
        assert.equal(made.id, String(env.id));
        assert.deepEqual([made.outs!.environmentName, made.outs!.environmentId, made.outs!.url], ["preview-pr-7", env.id, inputs().url]);
        const again = await quiet(() => p.create(inputs()));
        assert.equal(again.id, made.id);
        assert.deepEqual(names(), ["staging", "preview-pr-7"]);
        assert.deepEqual(
            fake.requests.map((r) => `${r.method} ${r.path}`),
            ["PUT /repos/keel-org/keel/environments/preview-pr-7", "PUT /repos/keel-org/keel/environments/preview-pr-7"],
        );
    });

    it("a new url is an update in place; another PR or repository is a replacement", async () => {
        const made = await quiet(() => p.create(inputs()));
        const d = await p.diff!(made.id, made.outs!, inputs({ url: "https://other" }));
        assert.deepEqual([d.changes, d.replaces], [true, []]);
        assert.equal((await p.diff!(made.id, made.outs!, inputs())).changes, false);
        assert.deepEqual((await p.diff!(made.id, made.outs!, inputs({ pr: 8 }))).replaces, ["pr"]);
        const updated = await quiet(() => p.update!(made.id, made.outs!, inputs({ url: "https://other" })));
        assert.equal(updated.outs!.url, "https://other");
        assert.deepEqual(names(), ["preview-pr-7"]);
    });

    it("delete removes the environment and its deployments; one already gone is done; read drops a deleted one", async () => {
        const made = await quiet(() => p.create(inputs()));
        fake.addEnvironment(REPO, "preview-pr-8");
        await quiet(() => p.delete!(made.id, made.outs!));
        assert.deepEqual(names(), ["preview-pr-8"]);
        await quiet(() => p.delete!(made.id, made.outs!));
        const read = await quiet(() => p.read!(made.id, made.outs!));
        assert.equal(read.id, "");
    });

    it("check refuses a bad owner, repository or PR number before anything is sent", async () => {
        const bad = async (i: GithubPreviewEnvironmentInputs) =>
            ((await p.check!({} as GithubPreviewEnvironmentInputs, i)).failures ?? []).map((f) => f.property);
        assert.deepEqual(await bad(inputs({ owner: "a/b" })), ["owner"]);
        assert.deepEqual(await bad(inputs({ repository: "" })), ["repository"]);
        assert.deepEqual(await bad(inputs({ pr: -1 })), ["pr"]);
        assert.deepEqual(await bad(inputs()), []);
        assert.deepEqual(fake.requests, []);
    });

    it("a token without repository administration gets the fix, without the token; no token at all says how to set one", async () => {
        const weak = fake.addToken({ deployments: "write" });
        const restore = setGithubEnv({ GITHUB_TOKEN: weak, GITHUB_API_URL: fake.url });
        try {
            await assert.rejects(
                quiet(() => p.create(inputs())),
                (e: Error) => {
                    assert.ok(e instanceof GithubApiError);
                    assert.match(e.message, /403/);
                    assert.match(e.message, /Administration: Read and write/);
                    assert.ok(!e.message.includes(weak));
                    return true;
                },
            );
        } finally {
            restore();
        }
        const none = setGithubEnv({ GITHUB_TOKEN: undefined, GITHUB_API_URL: fake.url });
        try {
            await assert.rejects(
                quiet(() => p.create(inputs())),
                /keel:githubToken.*GITHUB_TOKEN|GITHUB_TOKEN.*keel:githubToken/,
            );
        } finally {
            none();
        }
    });

    it("listPreviewEnvironments finds only previews' environments (by name) with their PR; deletePreviewEnvironment refuses others", async () => {
        for (const n of ["staging", "preview-pr-7", "preview-pr-12", "preview-pr-0", "preview-pr-7-old", "production"])
            fake.addEnvironment(REPO, n);
        const found = await listPreviewEnvironments(target);
        assert.deepEqual(
            found.map((e) => [e.name, e.pr]),
            [
                ["preview-pr-7", 7],
                ["preview-pr-12", 12],
            ],
        );
        assert.equal(await deletePreviewEnvironment(target, "preview-pr-12"), true);
        assert.equal(await deletePreviewEnvironment(target, "preview-pr-12"), false);
        await assert.rejects(deletePreviewEnvironment(target, "staging"), /not one/);
        assert.deepEqual(names(), ["staging", "preview-pr-7", "preview-pr-0", "preview-pr-7-old", "production"]);
    });

    it("retries a 502 on PUT (safe to repeat) and lists past one page", async () => {
        const sleeps: number[] = [];
        fake.inject({ method: "PUT", path: /environments/, status: 502, times: 1 });
        await putEnvironment(target, "preview-pr-3", { sleep: async (ms) => void sleeps.push(ms), random: () => 0 });
        assert.equal(sleeps.length, 1);
        for (let i = 100; i < 205; i++) fake.addEnvironment(REPO, `preview-pr-${i}`);
        assert.equal((await listPreviewEnvironments(target)).length, 106);
    });
});
