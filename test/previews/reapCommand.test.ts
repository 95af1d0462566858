/**
 * keel pr reap against the fake vendors: leftovers made behind Keel's back and
 * unmarked objects beside them, stacks in a file state backend; exactly the
 * marked leftovers go, and the printed lines name them.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Api, neonClient, waitForOperations } from "../../components/vendors/neon";
import { prReap, PrReapIo } from "../../scripts/prReap";
import { FakeFly } from "../support/fakeFly";
import { FakeGithub } from "../support/fakeGithub";
import { FakeNeon } from "../support/fakeNeon";
import { FakeVercel } from "../support/fakeVercel";
import { keel } from "../support/keel";
import { ROOT as repoRoot } from "../support/repoRoot";
import { tempDir } from "../support/tempDir";

const REPO = "keel-dev/keel-app";
const NOW = new Date("2026-12-07T12:00:00Z");

describe("keel pr reap", function () {
    let neon: FakeNeon;
    let fly: FakeFly;
    let github: FakeGithub;
    let vercel: FakeVercel;
    let api: Api;
    let root: string;
    let env: Record<string, string>;
    let projectId: string;
    let lines: string[];
    let removedStacks: string[];

    before(async () => {
        [neon, fly, github, vercel] = await Promise.all([
            FakeNeon.start(),
            FakeFly.start(),
            FakeGithub.start({ repos: [REPO] }),
            FakeVercel.start(),
        ]);
    });
    after(async () => {
        await Promise.all([neon.stop(), fly.stop(), github.stop(), vercel.stop()]);
    });

    /** A stack's latest state in the file backend, holding resources with these ids. */
    function writeStack(name: string, ids: string[] = []): void {
        const dir = path.join(root, ".pulumi-state", ".pulumi", "stacks", "keel");
        fs.mkdirSync(dir, { recursive: true });
        const resources = [{ urn: `urn:pulumi:${name}::keel::pulumi:pulumi:Stack::keel-${name}`, type: "pulumi:pulumi:Stack" }].concat(
            ids.map(
                (id, i) =>
                    ({
                        urn: `urn:pulumi:${name}::keel::pulumi-nodejs:dynamic:Resource::r${i}`,
                        type: "pulumi-nodejs:dynamic:Resource",
                        id,
                    }) as never,
            ),
        );
        fs.writeFileSync(
            path.join(dir, `${name}.json`),
            JSON.stringify({ version: 3, checkpoint: { stack: name, latest: { resources } } }),
        );
    }

    async function branch(name: string): Promise<string> {
        const parent = neon.branch(projectId, "staging")!;
        const { data } = await api.createProjectBranch(projectId, { branch: { parent_id: parent.id, name } });
        await waitForOperations(api, projectId, data.operations);
        return data.branch.id;
    }

    const neonNames = () =>
        neon.state.branches
            .filter((b) => b.project_id === projectId)
            .map((b) => b.name)
            .sort();
    const flyNames = () => [...fly.apps.values()].map((a) => a.name).sort();
    const envNames = () =>
        github
            .environmentsOf(REPO)
            .map((e) => e.name)
            .sort();
    const vercelComments = () => vercel.projects[0].envs.map((e) => e.comment ?? `(${e.key} ${e.target.join(",")})`).sort();

    let pr3Branch: string;
    let pr9Branch: string;
    let pr4Variable: string;

    beforeEach(async () => {
        root = tempDir("keel-reap-");
        for (const f of ["Pulumi.yaml", "Pulumi.dev.yaml", "Pulumi.staging.yaml", "Pulumi.prod.yaml"])
            fs.copyFileSync(path.join(repoRoot, f), path.join(root, f));
        fs.mkdirSync(path.join(root, ".pulumi-state", ".pulumi"), { recursive: true });
        fs.writeFileSync(path.join(root, ".pulumi-state", ".pulumi", "meta.yaml"), "version: 1\n");
        env = {
            NEON_API_KEY: neon.apiKey,
            NEON_API_URL: neon.url,
            FLY_API_TOKEN: fly.token,
            FLY_API_URL: fly.url,
            GITHUB_TOKEN: github.token,
            GITHUB_API_URL: github.url,
            VERCEL_API_TOKEN: vercel.token,
            VERCEL_API_URL: vercel.url,
            PULUMI_BACKEND_URL: `file://${path.join(root, ".pulumi-state")}`,
        };
        lines = [];
        removedStacks = [];

        // The base's project (Pulumi.staging.yaml: keel-app, branch staging off main), and what previews and people left in it.
        neon.reset();
        const project = neon.seedProject("keel-app", { branchName: "main", roleName: "app", databaseName: "app" });
        projectId = project.id;
        api = neonClient({ apiKey: neon.apiKey, baseUrl: neon.url });
        const { data } = await api.createProjectBranch(projectId, {
            branch: { parent_id: neon.branch(projectId, "main")!.id, name: "staging" },
        });
        await waitForOperations(api, projectId, data.operations);
        pr3Branch = await branch("preview/pr-3");
        pr9Branch = await branch("preview/pr-9");
        await branch("preview/pr-3-old");
        await branch("feature/pr-9");

        fly.reset();
        for (const app of [
            "keel-app-staging",
            "keel-app-staging-pr-3",
            "keel-app-staging-pr-4",
            "keel-app-staging-pr-6",
            "keel-app-pr-5",
            "other-app-pr-7",
        ])
            fly.seedApp(app);
        fly.seedApp("keel-app-staging-pr-8", "another-org");

        github.reset();
        const repo = github.repo(REPO);
        repo.pulls.clear();
        for (const e of ["production", "staging", "preview-pr-3", "preview-pr-7", "preview-pr-x", "preview-pr-07"])
            github.addEnvironment(REPO, e);

        vercel.reset();
        vercel.addProject({ name: "keel-app-web-staging" });
        vercel.addEnv("keel-app-web-staging", {
            type: "encrypted",
            key: "NEXT_PUBLIC_API_URL",
            value: "https://api",
            target: ["production"],
        });
        vercel.addEnv("keel-app-web-staging", {
            type: "encrypted",
            key: "NEXT_PUBLIC_API_URL",
            value: "https://pr-3",
            target: ["preview"],
            gitBranch: "feature-3",
            comment: "keel preview pr-3",
        });
        pr4Variable = vercel.addEnv("keel-app-web-staging", {
            type: "encrypted",
            key: "NEXT_PUBLIC_API_URL",
            value: "https://pr-4",
            target: ["preview"],
            gitBranch: "feature-4",
            comment: "keel preview pr-4",
        }).id;
        vercel.addEnv("keel-app-web-staging", {
            type: "encrypted",
            key: "NEXT_PUBLIC_API_URL",
            value: "x",
            target: ["preview"],
            gitBranch: "mine",
            comment: "by hand for pr-4",
        });

        // The stacks: staging and prod; pr-3 live (open), pr-4 of a closed PR, pr-6 expired (its stack file says when).
        writeStack("staging");
        writeStack("prod");
        writeStack("pr-3", [pr3Branch, "keel-app-staging-pr-3", "preview-pr-3"]);
        writeStack("pr-4", ["keel-app-staging-pr-4"]);
        writeStack("pr-6", ["keel-app-staging-pr-6"]);
        fs.writeFileSync(
            path.join(root, "Pulumi.pr-6.yaml"),
            `config:\n  keel:stage: preview\n  keel:preview:\n    pr: 6\n    base: staging\n    branch: feature-6\n    expiresAt: "2026-12-01T00:00:00Z"\n`,
        );
    });

    /** `pr down` as the core writes it, seen from outside: the stack and what its state holds are gone. */
    const io = (over: Partial<PrReapIo> = {}): PrReapIo => ({
        root,
        env,
        out: (l) => void lines.push(l),
        confirm: async () => false,
        now: () => NOW,
        removeStack: async (stack) => {
            removedStacks.push(stack);
            fly.apps.delete(`keel-app-staging-${stack}`);
            fs.rmSync(path.join(root, ".pulumi-state", ".pulumi", "stacks", "keel", `${stack}.json`));
        },
        ...over,
    });

    it("removes exactly the marked leftovers and the closed and expired previews, and names each", async () => {
        const code = await prReap({ from: "staging", open: [3, 6, 7], yes: true }, io());
        assert.equal(code, 0, lines.join("\n"));
        assert.deepEqual(removedStacks, ["pr-4", "pr-6"]);
        assert.deepEqual(neonNames(), ["feature/pr-9", "main", "preview/pr-3", "preview/pr-3-old", "staging"]);
        assert.deepEqual(flyNames(), [
            "keel-app-pr-5",
            "keel-app-staging",
            "keel-app-staging-pr-3",
            "keel-app-staging-pr-8",
            "other-app-pr-7",
        ]);
        assert.deepEqual(envNames(), ["preview-pr-07", "preview-pr-3", "preview-pr-x", "production", "staging"]);
        assert.deepEqual(vercelComments(), ["(NEXT_PUBLIC_API_URL production)", "by hand for pr-4", "keel preview pr-3"]);
        assert.deepEqual(lines, [
            "removed stack pr-4 (PR #4, closed) with fly-app keel-app-staging-pr-4",
            "removed stack pr-6 (PR #6, expired) with fly-app keel-app-staging-pr-6",
            `removed vercel-variable NEXT_PUBLIC_API_URL@feature-4 (${pr4Variable}) (PR #4, closed)`,
            "removed github-environment preview-pr-7 (PR #7, orphaned)",
            `removed neon-branch preview/pr-9 (${pr9Branch}) (PR #9, closed)`,
            "kept: pr-3 (open PRs: #3, #6, #7)",
        ]);
    });

    it("reads the open pull requests from GitHub when --open is not given", async () => {
        for (const n of [3, 6, 7]) github.addPull(REPO, { number: n });
        github.addPull(REPO, { number: 4, state: "closed" });
        const code = await prReap({ from: "staging", yes: true }, io());
        assert.equal(code, 0, lines.join("\n"));
        assert.deepEqual(removedStacks, ["pr-4", "pr-6"]);
        assert.ok(lines.includes("kept: pr-3 (open PRs: #3, #6, #7)"), lines.join("\n"));
    });

    it("with --dry-run, removes nothing and says what it would", async () => {
        const before = [neonNames(), flyNames(), envNames(), vercelComments()];
        const code = await prReap({ open: [3], dryRun: true }, io());
        assert.equal(code, 0);
        assert.deepEqual([neonNames(), flyNames(), envNames(), vercelComments()], before);
        assert.deepEqual(removedStacks, []);
        assert.ok(lines.includes("would remove stack pr-6 (PR #6, closed) with fly-app keel-app-staging-pr-6"), lines.join("\n"));
        assert.ok(lines.includes("would remove github-environment preview-pr-7 (PR #7, closed)"), lines.join("\n"));
    });

    it("asks first, and changes nothing when nobody answers", async () => {
        const code = await prReap({ open: [3, 6, 7] }, io());
        assert.equal(code, 1);
        assert.deepEqual(removedStacks, []);
        assert.ok(envNames().includes("preview-pr-7"));
        assert.match(lines.join("\n"), /will remove:\n {2}stack pr-4/);
    });

    it("without pr down, removes the orphans and reports each stack it could not remove (exit 1)", async () => {
        const code = await prReap({ open: [3, 6, 7], yes: true }, io({ removeStack: undefined }));
        assert.equal(code, 1);
        assert.ok(!envNames().includes("preview-pr-7"));
        assert.ok(flyNames().includes("keel-app-staging-pr-4"), "pr-4's app is left to its stack");
        assert.match(lines.join("\n"), /stack pr-4 \(PR #4, closed\): not removed, this checkout has no keel pr down/);
    });

    it("answers --help, and a bad --open is a usage error", async () => {
        const help = await keel(["pr", "reap", "--help"], root, env);
        assert.equal(help.code, 0);
        assert.match(help.out, /--open <n,\.\.\.>/);
        for (const bad of ["", "3,x", "0", "-1"]) {
            const run = await keel(["pr", "reap", "--open", bad], root, env);
            assert.equal(run.code, 2, `--open '${bad}': ${run.err}`);
        }
        assert.equal((await keel(["pr", "reap", "--bogus"], root, env)).code, 2);
    });
});
