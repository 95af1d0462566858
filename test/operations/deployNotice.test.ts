/**
 * A deploy's notice on every outcome (components/operations/deployReport.ts,
 * deployNotice.ts, scripts/deployReport.ts's deployOutcomeOf): the texts, the
 * masking of secrets, and the posts against a local webhook receiver; a notice
 * that cannot be sent never throws. Then the laptop's side: `afterUp` keeps
 * the record beside a file backend's state and posts for a non-dev stack only.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import fc from "fast-check";
import { DeployOutcome, failedStep, slackText, summaryMarkdown } from "../../components/operations/deployReport";
import { sendDeployNotice } from "../../components/operations/deployNotice";
import { OperationsIo, processOperationsIo } from "../../components/operations/io";
import { MASK, maskSecrets, secretValuesIn } from "../../components/operations/mask";
import type { KeelRecord } from "../../components/records/record";
import { deployOutcomeOf } from "../../scripts/deployReport";
import { afterUp } from "../../scripts/lib/deployOutcome";
import { recordLog } from "../../scripts/lib/records";
import { tempDir } from "../support/tempDir";
import { WebhookReceiver } from "../support/webhookReceiver";

const COMMIT = "abc1234def5678abc1234def5678abc1234def56";

/** The real io (fetch to the receiver), without the retries' pauses. */
function io(env: Record<string, string | undefined> = {}): OperationsIo & { log: string } {
    const real = processOperationsIo(process.cwd(), env, () => undefined);
    const o = { ...real, log: "", sleep: async () => undefined, out: (t: string) => void (o.log += t) };
    return o;
}

describe("deploy notices (issue 22)", () => {
    let hook: WebhookReceiver;
    before(async () => (hook = await WebhookReceiver.start()));
    after(() => hook.stop());
    beforeEach(() => {
        hook.posts.length = 0;
        hook.statuses = [];
    });

    describe("masking", () => {
        it("no known secret survives, wherever it sits in the text", () => {
            const secret = fc.string({ minLength: 6, maxLength: 40 }).filter((s) => s.trim().length >= 6);
            fc.assert(
                fc.property(fc.string(), secret, fc.string(), (before, value, after) => {
                    const out = maskSecrets(`${before}${value}${after}${value}`, [value]);
                    assert.ok(!out.includes(value), out);
                }),
            );
        });

        it("masks the shapes of secrets it was not told about: URL passwords, credential parameters, tokens, webhooks", () => {
            const text =
                "connect postgres://app:hunter2pw@db.example:5432/shop?sslmode=require&password=p4ss failed; " +
                "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.payload.sig; token ghp_abcdefghijklmnopqrstuvwxyz0123456789; " +
                "https://hooks.slack.com/services/T0/B0/XyZ; napi_abcdefghijklmnopqrstuvwxyz";
            const out = maskSecrets(text);
            for (const secret of ["hunter2pw", "p4ss", "eyJhbGciOiJIUzI1NiJ9", "ghp_abc", "T0/B0/XyZ", "napi_abc"]) {
                assert.ok(!out.includes(secret), `${secret} in ${out}`);
            }
            assert.match(out, /postgres:\/\/app:\*\*\*@db\.example:5432\/shop\?sslmode=require&password=\*\*\*/);
            assert.ok(out.includes(MASK));
        });

        it("takes the secret-named variables' values from the environment, not every value", () => {
            assert.deepEqual(
                secretValuesIn({
                    NEON_API_KEY: "neon-key-123",
                    PULUMI_CONFIG_PASSPHRASE: "pass-phrase",
                    HOME: "/root",
                    CI: "true",
                    X_TOKEN: "s",
                }),
                ["neon-key-123", "pass-phrase"],
            );
        });
    });

    describe("what the report says", () => {
        const deployRecord = (over: Partial<KeelRecord> = {}): KeelRecord =>
            ({
                kind: "deploy",
                stack: "prod",
                at: "2026-12-01T10:00:00.000Z",
                outcome: "succeeded",
                commit: COMMIT,
                durationMs: 133_000,
                migrationsApplied: 2,
                destructiveMigrations: 1,
                trigger: "push",
                ...over,
            }) as KeelRecord;
        const latest = {
            version: 42,
            kind: "update",
            result: "succeeded",
            startTime: new Date("2026-12-01T09:57:47Z"),
            endTime: new Date("2026-12-01T10:00:00Z"),
            message: "",
            dirty: false,
            config: {},
            outputs: {
                backendImage: "registry.fly.io/shop:abc1234",
                frontendUrl: "https://shop.example",
                backendUrl: "https://api.shop.example",
            },
            resourceChanges: {},
        };

        it("succeeded: the version, commit and subject, duration, migrations, image and URLs", () => {
            const o = deployOutcomeOf("prod", {
                steps: { preflight: "success", up: "success", health: "success", watch: "success" },
                commit: COMMIT,
                subject: "feat: checkout",
                latest,
                records: [deployRecord()],
            });
            const text = slackText(o);
            assert.match(text, /^:white_check_mark: prod: deployed abc1234 "feat: checkout" as version 42 in 2 min 13 s$/m);
            assert.match(text, /migrations applied: 2 \(1 destructive\)/);
            assert.match(text, /backend image: registry\.fly\.io\/shop:abc1234/);
            assert.match(text, /frontend: https:\/\/shop\.example/);
            assert.match(text, /backend: https:\/\/api\.shop\.example/);
        });

        it("failed: the first step that failed, its cause from the record, the button and the command", () => {
            const steps = { preflight: "success", up: "failure", health: "skipped", watch: "skipped" };
            assert.deepEqual(failedStep(steps), { step: "up", name: "pulumi up", outcome: "failure" });
            const o = deployOutcomeOf("prod", {
                steps,
                commit: COMMIT,
                rollbackUrl: "https://github.com/o/r/actions/workflows/rollback.yml",
                records: [
                    deployRecord({
                        outcome: "failed",
                        cause: 'migration 0004_x.sql failed: relation "y" does not exist',
                    } as Partial<KeelRecord>),
                ],
            });
            const text = summaryMarkdown(o);
            assert.match(text, /^### prod: the deploy of abc1234 FAILED at pulumi up$/m);
            assert.match(text, /- cause: migration 0004_x\.sql failed: relation "y" does not exist/);
            assert.match(
                text,
                /the Rollback workflow \(https:\/\/github\.com\/o\/r\/actions\/workflows\/rollback\.yml\) or npm run rollback -- --stack prod --previous --yes/,
            );
            const preflight = deployOutcomeOf("prod", { steps: { preflight: "failure", up: "skipped" }, records: [] });
            assert.match(slackText(preflight), /FAILED at preflight[\s\S]*preflight found problems/);
            const cancelled = deployOutcomeOf("prod", { steps: { preflight: "success", up: "cancelled" }, records: [] });
            assert.match(slackText(cancelled), /cause: pulumi up was cancelled/);
        });

        it("rolled back by the watch: from which version to which, recovered in how long, the incident", () => {
            const o = deployOutcomeOf("prod", {
                steps: { preflight: "success", up: "success", health: "success", watch: "failure" },
                commit: COMMIT,
                records: [
                    deployRecord(),
                    {
                        kind: "watch-failed",
                        stack: "prod",
                        at: "2026-12-01T10:05:00Z",
                        commit: COMMIT,
                        issue: "https://github.com/o/r/issues/7",
                    },
                    {
                        kind: "rollback",
                        stack: "prod",
                        at: "2026-12-01T10:06:00Z",
                        outcome: "succeeded",
                        fromVersion: 42,
                        toVersion: 41,
                        durationMs: 48_200,
                        trigger: "watch",
                    },
                ],
            });
            assert.equal(o.outcome, "rolled-back");
            const text = slackText(o);
            assert.match(
                text,
                /^:leftwards_arrow_with_hook: prod: rolled back by the health watch from version 42 to version 41, recovered in 48\.2 s$/m,
            );
            assert.match(text, /incident: https:\/\/github\.com\/o\/r\/issues\/7/);
            const failedRollback = deployOutcomeOf("prod", {
                steps: { up: "success", watch: "failure" },
                records: [
                    {
                        kind: "rollback",
                        stack: "prod",
                        at: "2026-12-01T10:06:00Z",
                        outcome: "failed",
                        toVersion: 41,
                        durationMs: 1,
                        trigger: "watch",
                        cause: "boom",
                    },
                ],
            });
            assert.match(slackText(failedRollback), /^:rotating_light: prod: the rollback by the health watch FAILED \(to version 41\)/);
        });
    });

    describe("sending", () => {
        const failed: DeployOutcome = {
            outcome: "failed",
            stack: "prod",
            commit: COMMIT,
            step: "pulumi up",
            cause: "could not connect to postgres://app:pw-secret-1@db:5432/shop (token neon-key-123)",
            rollbackCommand: "npm run rollback -- --stack prod --previous --yes",
        };

        it("posts to the webhook and writes the summary, the secrets masked in both", async () => {
            const summary = path.join(tempDir("keel-notice-"), "summary.md");
            const o = io();
            const r = await sendDeployNotice(failed, { slackWebhook: hook.url, summaryFile: summary, secrets: ["neon-key-123"] }, o);
            assert.deepEqual(r, { slack: "posted", summary: true, deploymentStatus: "not here" });
            assert.equal(hook.posts.length, 1);
            for (const text of [hook.posts[0], fs.readFileSync(summary, "utf8")]) {
                assert.match(text, /FAILED at pulumi up/);
                assert.ok(!text.includes("pw-secret-1") && !text.includes("neon-key-123"), text);
            }
        });

        it("a webhook that refuses, a deployment status that fails: said in the log, never thrown, the webhook never printed", async () => {
            hook.statuses = [500, 500, 500, 500];
            const o = io({ GITHUB_ACTIONS: "true" });
            const r = await sendDeployNotice(
                failed,
                {
                    slackWebhook: hook.url,
                    deploymentStatus: async () => {
                        throw new Error("HTTP 403 Resource not accessible by integration");
                    },
                    secrets: [],
                },
                o,
            );
            assert.deepEqual(r, { slack: "failed", summary: false, deploymentStatus: "failed" });
            assert.match(
                o.log,
                /::warning::the prod failed notice was not posted to Slack \(the deploy is not affected\): Slack did not take the post \(HTTP 500, 4 attempts\)/,
            );
            assert.match(o.log, /::warning::the GitHub deployment status of prod was not set \(the deploy is not affected\): HTTP 403/);
            assert.ok(!o.log.includes("s3cr3tW3bh00kPath"));
            assert.deepEqual(hook.posts, []);
        });
    });

    describe("after up, from a laptop", () => {
        function project(): { root: string; env: Record<string, string | undefined> } {
            const root = tempDir("keel-afterup-");
            fs.writeFileSync(path.join(root, "Pulumi.yaml"), "name: shop\nruntime: nodejs\n");
            const state = tempDir("keel-afterup-state-");
            return { root, env: { PULUMI_BACKEND_URL: `file://${state}`, NEON_API_KEY: "neon-key-123" } };
        }
        const ended = (p: ReturnType<typeof project>, stage: string, ok: boolean) => ({
            root: p.root,
            stack: stage,
            stage,
            env: p.env,
            startedMs: Date.parse("2026-12-01T10:00:00Z"),
            endedMs: Date.parse("2026-12-01T10:01:30Z"),
            ok,
            ...(ok ? {} : { cause: "the database at postgres://app:pw-secret-1@db/shop refused: neon-key-123" }),
            before: { appliedMigrations: 2, latestBackup: { id: "b1" } },
            after: ok ? { appliedMigrations: 3, latestBackup: { id: "b2" }, frontendUrl: "https://shop.example" } : {},
            webhook: hook.url,
            secrets: [],
            say: () => undefined,
        });

        it("records every up beside the state and posts for a non-dev stack, the cause masked", async () => {
            const p = project();
            await afterUp(ended(p, "prod", true));
            const later = ended(p, "prod", false);
            await afterUp({ ...later, startedMs: later.startedMs + 600_000, endedMs: later.endedMs + 600_000 });
            const records = await recordLog(p.root, "prod", p.env).list();
            assert.deepEqual(
                records.map((r) => [r.kind, (r as { outcome: string }).outcome]),
                [
                    ["deploy", "succeeded"],
                    ["deploy", "failed"],
                ],
            );
            assert.equal((records[0] as { migrationsApplied?: number }).migrationsApplied, 1);
            assert.equal((records[0] as { durationMs: number }).durationMs, 90_000);
            assert.deepEqual((records[0] as { backup?: unknown }).backup, { id: "b2" });
            const cause = (records[1] as { cause?: string }).cause ?? "";
            assert.ok(!cause.includes("pw-secret-1") && !cause.includes("neon-key-123"), cause);
            assert.equal(hook.posts.length, 2);
            assert.match(hook.posts[0], /:white_check_mark: prod: deployed .* in 1 min 30 s/);
            assert.match(hook.posts[0], /frontend: https:\/\/shop\.example/);
            assert.match(hook.posts[1], /:x: prod: the deploy of .* FAILED at up/);
            assert.ok(!hook.posts[1].includes("pw-secret-1"));
        });

        it("a dev stack's up and an up inside GitHub Actions are recorded, not posted", async () => {
            const p = project();
            await afterUp(ended(p, "dev", true));
            await afterUp({ ...ended(p, "prod", true), env: { ...p.env, GITHUB_ACTIONS: "true" } });
            assert.equal((await recordLog(p.root, "dev", p.env).list()).length, 1);
            assert.equal((await recordLog(p.root, "prod", p.env).list()).length, 1);
            assert.deepEqual(hook.posts, []);
        });
    });
});
