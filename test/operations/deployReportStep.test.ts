/**
 * `keel deploy report`, deploy.yml's last step, as the runner runs it: the step's
 * env (the steps' outcomes, the commit, the job's token), Keel's records beside a
 * file backend's state, the GitHub API fake (deployment statuses, checked against
 * GitHub's OpenAPI description by its own tests) and a local Slack webhook. One
 * notice per deploy, on every outcome; a GitHub or Slack failure never fails the step.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import type { KeelRecord } from "../../components/records/record";
import { recordLog } from "../../scripts/lib/records";
import { FakeGithub } from "../support/fakeGithub";
import { keel } from "../support/keel";
import { tempDir } from "../support/tempDir";
import { WebhookReceiver } from "../support/webhookReceiver";

const SHA = "0123456789abcdef0123456789abcdef01234567";

describe("keel deploy report (issue 22)", () => {
    let github: FakeGithub;
    let hook: WebhookReceiver;
    before(async () => {
        github = await FakeGithub.start({ repos: ["acme/shop"] });
        hook = await WebhookReceiver.start();
    });
    after(async () => {
        await github.stop();
        await hook.stop();
    });
    beforeEach(() => {
        github.reset();
        hook.posts.length = 0;
        hook.statuses = [];
    });

    /** A project on a file backend holding `records`, and the report step's env with these step outcomes. */
    async function step(outcomes: Record<string, string>, records: KeelRecord[]) {
        const root = tempDir("keel-report-");
        fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
        const summary = path.join(root, "summary.md");
        const env: Record<string, string | undefined> = {
            PULUMI_BACKEND_URL: `file://${tempDir("keel-report-state-")}`,
            GITHUB_ACTIONS: "true",
            GITHUB_REPOSITORY: "acme/shop",
            GITHUB_API_URL: github.url,
            GITHUB_SERVER_URL: "https://github.com",
            GITHUB_RUN_ID: "4242",
            GITHUB_STEP_SUMMARY: summary,
            KEEL_DEPLOYMENTS_TOKEN: github.token,
            SLACK_WEBHOOK_URL: hook.url,
            COMMIT: SHA,
            RUN_URL: "https://github.com/acme/shop/actions/runs/4242",
            ROLLBACK_URL: "https://github.com/acme/shop/actions/workflows/rollback.yml",
            ...outcomes,
        };
        for (const r of records) await recordLog(root, "prod", env).append(r);
        const run = () => keel(["deploy", "report", "--stack", "prod", "--environment", "production", "--slack"], root, env);
        return { root, env, summary, run };
    }

    const deployed: KeelRecord = {
        kind: "deploy",
        stack: "prod",
        at: "2026-12-07T10:00:00.000Z",
        outcome: "succeeded",
        commit: SHA,
        durationMs: 75_000,
        migrationsApplied: 1,
        destructiveMigrations: 0,
        trigger: "push",
    };

    it("a success: one Slack post, the summary, the production environment's deployment status success", async () => {
        const s = await step({ PREFLIGHT_OUTCOME: "success", UP_OUTCOME: "success", HEALTH_OUTCOME: "success", WATCH_OUTCOME: "success" }, [
            deployed,
        ]);
        const r = await s.run();
        assert.equal(r.code, 0, r.err + r.out);
        assert.equal(hook.posts.length, 1);
        assert.match(hook.posts[0], /^:white_check_mark: prod: deployed 0123456 in 1 min 15 s/);
        assert.match(hook.posts[0], /migrations applied: 1/);
        assert.match(fs.readFileSync(s.summary, "utf8"), /^### prod: deployed 0123456/m);
        const [d] = github.deploymentsOf("acme/shop");
        assert.equal(d.environment, "production");
        assert.equal(d.sha, SHA);
        assert.equal(github.stateOf(d), "success");
        assert.match(d.statuses.at(-1)!.log_url, /actions\/runs\/4242$/);
        assert.ok(!r.out.includes(github.token) && !r.out.includes("s3cr3tW3bh00kPath"));
    });

    it("a failed up: the cause from the record, the rollback's button and command; the deployment status failure", async () => {
        const s = await step({ PREFLIGHT_OUTCOME: "success", UP_OUTCOME: "failure", HEALTH_OUTCOME: "skipped", WATCH_OUTCOME: "skipped" }, [
            {
                ...deployed,
                outcome: "failed",
                step: "up",
                cause: 'migration 0007_orders.sql failed: column "total" does not exist',
            } as KeelRecord,
        ]);
        const r = await s.run();
        assert.equal(r.code, 0, "the report never fails the job");
        assert.match(hook.posts[0], /^:x: prod: the deploy of 0123456 FAILED at pulumi up/);
        assert.match(hook.posts[0], /cause: migration 0007_orders\.sql failed/);
        assert.match(
            hook.posts[0],
            /the Rollback workflow \(https:\/\/github\.com\/acme\/shop\/actions\/workflows\/rollback\.yml\) or npm run rollback -- --stack prod --previous --yes/,
        );
        assert.equal(github.stateOf(github.deploymentsOf("acme/shop")[0]), "failure");
    });

    it("rolled back by the watch: from which version to which, how long; the step retried makes no second deployment", async () => {
        const s = await step({ PREFLIGHT_OUTCOME: "success", UP_OUTCOME: "success", HEALTH_OUTCOME: "success", WATCH_OUTCOME: "failure" }, [
            deployed,
            {
                kind: "watch-failed",
                stack: "prod",
                at: "2026-12-07T10:04:00.000Z",
                commit: SHA,
                issue: "https://github.com/acme/shop/issues/3",
            },
            {
                kind: "rollback",
                stack: "prod",
                at: "2026-12-07T10:05:00.000Z",
                outcome: "succeeded",
                fromVersion: 12,
                toVersion: 11,
                durationMs: 51_000,
                trigger: "watch",
            },
        ]);
        assert.equal((await s.run()).code, 0);
        assert.equal((await s.run()).code, 0);
        assert.match(
            hook.posts[0],
            /^:leftwards_arrow_with_hook: prod: rolled back by the health watch from version 12 to version 11, recovered in 51\.0 s/,
        );
        assert.match(hook.posts[0], /incident: https:\/\/github\.com\/acme\/shop\/issues\/3/);
        assert.equal(github.deploymentsOf("acme/shop").length, 1, "one deployment per run");
    });

    it("GitHub and Slack failing: warnings in the log, exit 0, nothing secret printed", async () => {
        const s = await step({ PREFLIGHT_OUTCOME: "success", UP_OUTCOME: "success" }, [deployed]);
        hook.statuses = [500, 500, 500, 500];
        const r = await keel(["deploy", "report", "--stack", "prod", "--environment", "production", "--slack"], s.root, {
            ...s.env,
            KEEL_DEPLOYMENTS_TOKEN: "ghs_not_a_token_the_fake_knows",
        });
        assert.equal(r.code, 0, r.err);
        assert.match(r.out, /::warning::the prod succeeded notice was not posted to Slack \(the deploy is not affected\)/);
        assert.match(r.out, /::warning::the GitHub deployment status of prod was not set \(the deploy is not affected\)/);
        assert.ok(!r.out.includes("ghs_not_a_token_the_fake_knows") && !r.out.includes("s3cr3tW3bh00kPath"), r.out);
        assert.match(fs.readFileSync(s.summary, "utf8"), /### prod: deployed/, "the summary still says it");
    });
});
