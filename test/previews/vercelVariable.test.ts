/**
 * VercelPreviewVariable and the reaper's Vercel helpers, against the fake
 * Vercel API: a PR's variable on the base's project for target preview and
 * the PR's branch, marked by its comment; create adopts (never duplicates),
 * a new value is an edit in place, delete is done when it is gone; the value
 * never reaches a message or a log line. The fake's env endpoints are also
 * held to @vercel/sdk's models by driving the SDK against them.
 */
import { strict as assert } from "assert";
import type * as pulumi from "@pulumi/pulumi";
import {
    VercelPreviewVariableInputs,
    VercelPreviewVariableOutputs,
    vercelPreviewVariableProvider,
} from "../../components/previews/vercelVariable";
import { deletePreviewVariable, listPreviewVariables } from "../../components/vendors/vercelEnv";
import { VercelClient } from "../../components/vendors/vercel";
import { FakeVercel, setVercelEnv } from "../support/fakeVercel";
import { captureConsole, serializedProvider } from "../support/serializedProvider";
import { loadVercelSdk } from "../support/vercelSdk";

type Provider = pulumi.dynamic.ResourceProvider<VercelPreviewVariableInputs, VercelPreviewVariableOutputs>;
const SECRET = "https://api-pr-7.example.internal/s3cr3t-value";

describe("VercelPreviewVariable (against the fake Vercel API)", () => {
    let fake: FakeVercel;
    let p: Provider;
    let restoreEnv: () => void;
    let lines: string[];

    before(async () => {
        fake = await FakeVercel.start({ teamId: "team_keel" });
        restoreEnv = setVercelEnv({ VERCEL_API_TOKEN: fake.token, VERCEL_API_URL: fake.url });
        const s = await serializedProvider(vercelPreviewVariableProvider);
        p = s.provider;
        assert.ok(!s.text.includes(fake.token) && !s.text.includes(fake.url), "nothing captured in the provider's text");
    });
    after(async () => {
        restoreEnv();
        await fake.stop();
    });
    beforeEach(() => {
        fake.reset();
        fake.addProject({ name: "web" });
        lines = [];
    });
    afterEach(() => {
        assert.ok(!lines.some((l) => l.includes(SECRET)), "the value is never logged");
        assert.ok(!JSON.stringify(fake.requests.map((r) => r.response)).includes(SECRET), "never sent back by the fake either");
    });

    const inputs = (over: Partial<VercelPreviewVariableInputs> = {}): VercelPreviewVariableInputs => ({
        projectName: "web",
        teamId: "team_keel",
        key: "NEXT_PUBLIC_API_URL",
        value: SECRET,
        gitBranch: "feature/login",
        pr: 7,
        ...over,
    });
    const run = async <T>(fn: () => Promise<T>): Promise<T> => {
        const r = await captureConsole(fn);
        lines.push(...r.lines);
        return r.result;
    };
    const client = () => new VercelClient({ teamId: "team_keel" });

    it("creates the variable for target preview and the PR's branch, encrypted, marked by its comment", async () => {
        const made = await run(() => p.create(inputs()));
        const envs = fake.envs("web");
        assert.equal(envs.length, 1);
        const { id, createdAt: _c, updatedAt: _u, ...rest } = envs[0];
        assert.deepEqual(rest, {
            key: "NEXT_PUBLIC_API_URL",
            value: SECRET,
            type: "encrypted",
            target: ["preview"],
            gitBranch: "feature/login",
            comment: "keel preview pr-7",
        });
        assert.equal(made.id, id);
        assert.equal(made.outs!.variableId, id);
        assert.equal(made.outs!.projectId, fake.projects[0].id);
    });

    it("adopts an existing variable with the same key, target preview and branch (no duplicate), and leaves others alone", async () => {
        const other = fake.addEnv("web", { key: "NEXT_PUBLIC_API_URL", value: "https://prod", type: "encrypted", target: ["production"] });
        const stale = fake.addEnv("web", {
            key: "NEXT_PUBLIC_API_URL",
            value: "https://old",
            type: "plain",
            target: ["preview"],
            gitBranch: "feature/login",
        });
        const made = await run(() => p.create(inputs()));
        assert.equal(made.id, stale.id);
        assert.equal(fake.envs("web").length, 2);
        assert.deepEqual([stale.value, stale.type, stale.comment], [SECRET, "encrypted", "keel preview pr-7"]);
        assert.equal(other.value, "https://prod");
        assert.deepEqual(
            fake.requests.filter((r) => r.method !== "GET").map((r) => r.method),
            ["PATCH"],
            "found first: no create refused as a duplicate",
        );
        // Created twice over (a second pr up after the state was lost): still one.
        await run(() => p.create(inputs()));
        assert.equal(fake.envs("web").length, 2);
    });

    it("a lost create answer is recovered by looking again, with no duplicate", async () => {
        fake.dropResponses("POST", /\/env$/, 1);
        const made = await run(() => p.create(inputs()));
        assert.equal(fake.envs("web").length, 1);
        assert.equal(made.id, fake.envs("web")[0].id);
    });

    it("a new value is an edit in place; another project or team is a replacement", async () => {
        const made = await run(() => p.create(inputs()));
        const olds = made.outs!;
        const d = await p.diff!(made.id, olds, inputs({ value: "https://api-pr-7.example/v2" }));
        assert.deepEqual([d.changes, d.replaces], [true, []]);
        assert.equal((await p.diff!(made.id, olds, inputs())).changes, false);
        assert.deepEqual((await p.diff!(made.id, olds, inputs({ projectName: "site" }))).replaces, ["projectName"]);
        await run(() => p.update!(made.id, olds, inputs({ value: "https://api-pr-7.example/v2" })));
        const envs = fake.envs("web");
        assert.deepEqual(
            envs.map((e) => [e.id, e.value]),
            [[made.id, "https://api-pr-7.example/v2"]],
        );
        assert.deepEqual(
            fake.requests.filter((r) => r.method !== "GET").map((r) => r.method),
            ["POST", "PATCH"],
        );
    });

    it("delete removes it, and one already gone is done; read drops one removed outside Keel", async () => {
        const made = await run(() => p.create(inputs()));
        fake.envs("web").splice(0);
        const read = await run(() => p.read!(made.id, made.outs!));
        assert.equal(read.id, "");
        await run(() => p.delete!(made.id, made.outs!));
        const again = await run(() => p.create(inputs()));
        await run(() => p.delete!(again.id, again.outs!));
        assert.deepEqual(fake.envs("web"), []);
    });

    it("a missing project is an error naming it and the base stack; the value is in no error", async () => {
        await assert.rejects(
            run(() => p.create(inputs({ projectName: "nope" }))),
            (e: Error) => /no Vercel project 'nope' in team team_keel/.test(e.message) && /base stack/.test(e.message),
        );
        fake.addEnv("web", { key: "X", value: "y", type: "encrypted", target: ["preview"], gitBranch: "feature/login" });
        fake.inject({ method: "POST", path: /\/env$/, status: 403, times: 1 });
        await assert.rejects(
            run(() => p.create(inputs())),
            (e: Error) => !e.message.includes(SECRET),
        );
    });

    it("check refuses a bad key, branch or PR number before anything is sent", async () => {
        const bad = async (i: VercelPreviewVariableInputs) =>
            ((await p.check!({} as VercelPreviewVariableInputs, i)).failures ?? []).map((f) => f.property);
        assert.deepEqual(await bad(inputs({ key: "API URL" })), ["key"]);
        assert.deepEqual(await bad(inputs({ gitBranch: "" })), ["gitBranch"]);
        assert.deepEqual(await bad(inputs({ pr: 0 })), ["pr"]);
        assert.deepEqual(await bad(inputs()), []);
        assert.deepEqual(fake.requests, []);
    });

    it("listPreviewVariables finds Keel's by comment only, with their PR; deletePreviewVariable removes one (gone: false)", async () => {
        await run(() => p.create(inputs()));
        await run(() => p.create(inputs({ pr: 12, gitBranch: "fix/x" })));
        fake.addEnv("web", { key: "A", value: "b", type: "encrypted", target: ["preview"], gitBranch: "x", comment: "keel preview pr-0" });
        fake.addEnv("web", { key: "A", value: "b", type: "encrypted", target: ["preview"], gitBranch: "y", comment: "someone's note" });
        fake.addEnv("web", { key: "B", value: "b", type: "encrypted", target: ["production"] });
        const found = await listPreviewVariables(client(), "web");
        assert.deepEqual(found.map((v) => [v.pr, v.gitBranch, v.key]).sort(), [
            [12, "fix/x", "NEXT_PUBLIC_API_URL"],
            [7, "feature/login", "NEXT_PUBLIC_API_URL"],
        ]);
        assert.ok(
            found.every((v) => !("value" in v)),
            "no value in what is listed",
        );
        assert.equal(await deletePreviewVariable(client(), "web", found[0].id), true);
        assert.equal(await deletePreviewVariable(client(), "web", found[0].id), false);
        assert.equal(fake.envs("web").length, 4);
        assert.deepEqual(await listPreviewVariables(client(), "gone-project"), []);
    });

    it("the fake's env endpoints as @vercel/sdk calls and reads them", async () => {
        const sdk = loadVercelSdk();
        const vercel = new sdk.Vercel({ bearerToken: fake.token, serverURL: fake.url });
        const made = await vercel.projects.createProjectEnv({
            idOrName: "web",
            teamId: "team_keel",
            requestBody: { key: "K", value: "v", type: "encrypted", target: ["preview"], gitBranch: "b", comment: "keel preview pr-3" },
        });
        const created = made.created as { id?: string; gitBranch?: string; comment?: string };
        assert.deepEqual([created.gitBranch, created.comment], ["b", "keel preview pr-3"]);
        const listed = (await vercel.projects.filterProjectEnvs({ idOrName: "web", teamId: "team_keel", gitBranch: "b" })) as {
            envs: { id?: string; key: string; target?: unknown }[];
        };
        assert.deepEqual(
            listed.envs.map((e) => [e.id, e.key, e.target]),
            [[created.id, "K", ["preview"]]],
        );
        const edited = await vercel.projects.editProjectEnv({
            idOrName: "web",
            id: created.id!,
            teamId: "team_keel",
            requestBody: { value: "w" },
        });
        assert.equal(edited.id, created.id);
        await vercel.projects.removeProjectEnv({ idOrName: "web", id: created.id!, teamId: "team_keel" });
        assert.deepEqual(fake.envs("web"), []);
        await assert.rejects(
            vercel.projects.createProjectEnv({
                idOrName: "web",
                teamId: "team_keel",
                requestBody: { key: "K", value: "v", type: "encrypted", target: ["production"], gitBranch: "b" },
            }),
            (e: any) => e.statusCode === 400,
        );
    });
});
