/**
 * previews.yml (components/github/workflows/previews.ts): generated only with keel:previews.enabled, a preview per
 * pull request of the repository itself, in the `preview` environment, one run per pull request at a time; its
 * steps' scripts run with bash and a fake npm and gh, so what reaches the commands is what they are given.
 * (actionlint and the hardening checks run on it with every other workflow: test/github/workflows.test.ts.)
 */
import { strict as assert } from "assert";
import { spawnSync } from "child_process";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import {
    generateWorkflows,
    PREVIEW_SUMMARY_FILE,
    PREVIEWS_ENVIRONMENT,
    WorkflowConfigError,
    type WorkflowOptions,
} from "../../components/github/workflows";
import { pinnedPulumiVersion } from "../../components/pulumiVersion";
import { ROOT } from "../support/repoRoot";
import { tempDir } from "../support/tempDir";

const base: WorkflowOptions = {
    stacks: [
        { stack: "staging", stage: "staging", branch: "staging", environment: "staging", hasBackend: true, hasFrontend: true },
        { stack: "prod", stage: "prod", branch: "main", environment: "production", hasBackend: true, hasFrontend: true },
    ],
    defaultBranch: "main",
    nodeVersion: "20",
    pulumiVersion: pinnedPulumiVersion(ROOT),
    policyPack: "policies",
    state: "passphrase",
    slack: false,
};
const withPreviews: WorkflowOptions = { ...base, previews: { base: "staging", ttlDays: 7 } };

const previewsYml = (o: WorkflowOptions) => generateWorkflows(o).find((w) => w.path === ".github/workflows/previews.yml");
const doc = () => parse(previewsYml(withPreviews)!.content);

/** The step's script run by bash as the runner does, with `env`, and fakes first on PATH that record their arguments. */
function runStep(step: { run: string }, env: Record<string, string>, fakes: Record<string, string> = {}) {
    const dir = tempDir("keel-previews-step-");
    const bin = path.join(dir, "bin");
    fs.mkdirSync(bin);
    const record = '#!/bin/bash\nprintf "%s\\n" "$@" > "$STATE/$(basename "$0")-args"\n';
    for (const name of ["npm", "gh"]) fs.writeFileSync(path.join(bin, name), fakes[name] ?? record, { mode: 0o755 });
    const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "-c", step.run], {
        cwd: dir,
        env: {
            PATH: `${bin}:${process.env.PATH}`,
            STATE: dir,
            RUNNER_TEMP: "/runner/tmp",
            GITHUB_OUTPUT: path.join(dir, "output"),
            ...env,
        },
        encoding: "utf8",
    });
    const read = (f: string) => (fs.existsSync(path.join(dir, f)) ? fs.readFileSync(path.join(dir, f), "utf8") : "");
    return { status: r.status, out: r.stdout + r.stderr, args: (tool: string) => read(`${tool}-args`).trimEnd().split("\n"), read, dir };
}

describe("previews.yml", () => {
    it("is generated only when the base stack has previews on, after the other workflows", () => {
        assert.equal(previewsYml(base), undefined);
        const all = generateWorkflows(withPreviews);
        assert.equal(all[all.length - 1].path, ".github/workflows/previews.yml");
        assert.equal(all.length, generateWorkflows(base).length + 1);
        assert.deepEqual(generateWorkflows(base), all.slice(0, -1), "the other workflows do not change");
        assert.deepEqual(previewsYml(withPreviews)!.jobNames, ["preview up", "preview down", "reap previews"]);
    });

    it("runs on a pull request's opening, pushes, reopening and closing, nightly and on demand; no default permissions", () => {
        const d = doc();
        assert.equal(d.name, "Previews");
        assert.deepEqual(d.on, {
            pull_request: { types: ["opened", "synchronize", "reopened", "closed"] },
            schedule: [{ cron: "43 2 * * *" }],
            workflow_dispatch: {},
        });
        assert.deepEqual(d.permissions, {});
    });

    it("never runs for a fork's pull request; up while open, down when closed, reap on the schedule or by hand", () => {
        const { up, down, reap } = doc().jobs;
        const fork = "github.event.pull_request.head.repo.full_name == github.repository";
        assert.equal(up.if, `github.event_name == 'pull_request' && github.event.action != 'closed' && ${fork}`);
        assert.equal(down.if, `github.event_name == 'pull_request' && github.event.action == 'closed' && ${fork}`);
        assert.equal(reap.if, "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'");
    });

    it("runs in the preview environment with least permissions, one run per pull request that never cancels another", () => {
        const { up, down, reap } = doc().jobs;
        for (const job of [up, down, reap]) assert.equal(job.environment, PREVIEWS_ENVIRONMENT);
        assert.equal(PREVIEWS_ENVIRONMENT, "preview");
        assert.deepEqual(up.permissions, { contents: "read", "pull-requests": "write" });
        assert.deepEqual(down.permissions, { contents: "read" });
        assert.deepEqual(reap.permissions, { contents: "read", "pull-requests": "read" });
        const perPr = { group: "previews-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": false };
        assert.deepEqual(up.concurrency, perPr);
        assert.deepEqual(down.concurrency, perPr, "a close waits for the push's run, and is never cancelled by a later one");
        assert.deepEqual(reap.concurrency, { group: "previews-reap", "cancel-in-progress": false });
    });

    it("gives the comment step the job's own token only, and the Pulumi steps the environment's secrets", () => {
        const { up, down, reap } = doc().jobs;
        const comment = up.steps.find((s: any) => /pr:comment/.test(s.run ?? ""));
        assert.deepEqual(comment.env, { GITHUB_TOKEN: "${{ github.token }}", PR: "${{ github.event.pull_request.number }}" });
        const upStep = up.steps.find((s: any) => /pr:up/.test(s.run ?? ""));
        assert.equal(upStep.env.GITHUB_TOKEN, "${{ secrets.KEEL_GITHUB_TOKEN }}");
        assert.equal(upStep.env.NEON_API_KEY, "${{ secrets.NEON_API_KEY }}");
        assert.equal(upStep.env.HEAD_REF, "${{ github.head_ref }}");
        // Secrets only where Pulumi runs or the state is checked: never npm ci, the checkout or the comment.
        for (const job of [up, down, reap])
            for (const s of job.steps)
                if (JSON.stringify(s.env ?? {}).includes("secrets."))
                    assert.ok(/^npm run pr:(up|down|reap)|^if \[ -z "\$PULUMI_BACKEND_URL"/.test(s.run), s.name);
        // A closed pull request's code is not checked out: down runs the default branch's.
        assert.equal(down.steps[0].with.ref, "${{ github.event.repository.default_branch }}");
        assert.equal(reap.steps[0].with.ref, undefined, "a schedule runs on the default branch already");
        assert.equal(up.steps[0].with.ref, "${{ github.event.pull_request.head.sha }}", "up runs the pull request's own program");
    });

    it("passes the pull request and its branch to npm as arguments of their own, never as script text", () => {
        const { up } = doc().jobs;
        const hostile = 'x"; touch pwned; $(touch pwned2) `touch pwned3`';
        const upStep = up.steps.find((s: any) => /pr:up/.test(s.run ?? ""));
        const r = runStep(upStep, { PR: "12", HEAD_REF: hostile, HEAD_REPO: "shop/shop-app" });
        assert.equal(r.status, 0, r.out);
        assert.deepEqual(r.args("npm"), [
            "run",
            "pr:up",
            "--",
            "--pr",
            "12",
            "--from",
            "staging",
            "--branch",
            hostile,
            "--head-repo",
            "shop/shop-app",
            "--summary",
            `/runner/tmp/${PREVIEW_SUMMARY_FILE}`,
        ]);
        for (const f of ["pwned", "pwned2", "pwned3"]) assert.ok(!fs.existsSync(path.join(r.dir, f)));
        const comment = runStep(
            up.steps.find((s: any) => /pr:comment/.test(s.run ?? "")),
            { PR: "12" },
        );
        assert.deepEqual(comment.args("npm"), [
            "run",
            "pr:comment",
            "--",
            "--pr",
            "12",
            "--summary",
            `/runner/tmp/${PREVIEW_SUMMARY_FILE}`,
        ]);
        const failing = runStep(upStep, { PR: "12", HEAD_REF: "b" }, { npm: "#!/bin/bash\nexit 3\n" });
        assert.equal(failing.status, 3, "a failed pr:up fails the step, and so the comment is not posted");
    });

    it("down removes the pull request's preview; reap is given the open pull requests from gh", () => {
        const { down, reap } = doc().jobs;
        const d = runStep(
            down.steps.find((s: any) => /pr:down/.test(s.run ?? "")),
            { PR: "12" },
        );
        assert.deepEqual(d.args("npm"), ["run", "pr:down", "--", "--pr", "12", "--from", "staging"]);
        const list = reap.steps.find((s: any) => s.id === "open");
        assert.deepEqual(list.env, { GH_TOKEN: "${{ github.token }}", GH_REPO: "${{ github.repository }}" });
        const l = runStep(list, {}, { gh: '#!/bin/bash\nprintf "%s\\n" "$@" > "$STATE/gh-args"\necho "3,5,8"\n' });
        assert.equal(l.status, 0, l.out);
        assert.deepEqual(l.args("gh"), [
            "pr",
            "list",
            "--state",
            "open",
            "--limit",
            "1000",
            "--json",
            "number",
            "--jq",
            'if length == 0 then "none" else map(.number) | join(",") end',
        ]);
        assert.equal(l.read("output"), "open=3,5,8\n");
        const step = reap.steps.find((s: any) => /pr:reap/.test(s.run ?? ""));
        assert.equal(step.env.OPEN, "${{ steps.open.outputs.open }}");
        assert.deepEqual(runStep(step, { OPEN: "3,5,8" }).args("npm"), [
            "run",
            "pr:reap",
            "--",
            "--from",
            "staging",
            "--open",
            "3,5,8",
            "--yes",
        ]);
        const gone = runStep(list, {}, { gh: "#!/bin/bash\nexit 1\n" });
        assert.notEqual(gone.status, 0, "no list of open pull requests, no reap");
    });

    it("follows the base and ttl given, and refuses ones that are not a stack name or a number of days", () => {
        const other = parse(previewsYml({ ...base, previews: { base: "qa-1", ttlDays: 1 } })!.content);
        const step = other.jobs.up.steps.find((s: any) => /pr:up/.test(s.run ?? ""));
        assert.match(step.run, /--from qa-1 /);
        assert.match(step.name, /from qa-1, kept 1 day after the last push/);
        for (const [previews, message] of [
            [{ base: "staging'; x", ttlDays: 7 }, /previews\.base 'staging'; x' is not a stack name.*Fix: /],
            [{ base: "staging", ttlDays: 0 }, /previews\.ttlDays '0' is not a whole number of days above 0.*Fix: /],
            [{ base: "staging", ttlDays: 1.5 }, /previews\.ttlDays '1\.5'/],
        ] as const)
            assert.throws(
                () => generateWorkflows({ ...base, previews }),
                (e: unknown) => e instanceof WorkflowConfigError && message.test(e.message.replace(/\n/g, " ")),
            );
    });
});
