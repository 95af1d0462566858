/** keel issue drill's logic (components/operations/drillIssue.ts) and the drill line (drillLine.ts) against a fake world. */
import { strict as assert } from "assert";
import { drillSlackText, readDrillRun, reportDrillRun } from "../../components/operations/drillIssue";
import { formatDrillLine, oneLineCause, parseDrillLines } from "../../components/operations/drillLine";
import { FAKE_WEBHOOK, FakeOperationsIo } from "../support/fakeOperationsIo";

const TEMP = "/runner/tmp";
const SUMMARY = "/runner/summary.md";

function world(env: Record<string, string>, files: Record<string, string>): FakeOperationsIo {
    const io = new FakeOperationsIo({
        RUNNER_TEMP: TEMP,
        RUN_URL: "https://example.test/run/1",
        GITHUB_STEP_SUMMARY: SUMMARY,
        SLACK_WEBHOOK_URL: FAKE_WEBHOOK,
        ...env,
    });
    for (const [name, text] of Object.entries(files)) io.files[`${TEMP}/${name}`] = text;
    return io;
}

const RESTORE_OK =
    "drill PASSED (backup x)\ndrill restore of staging: succeeded in 12.3 s\ndrill snapshot of staging: succeeded in 20.1 s\n";
const ROLLBACK_OK = "drill rollback of staging: succeeded in 161.0 s (back 80.2 s, forward 80.8 s)\n";

describe("keel issue drill", () => {
    it("a failed drill opens one issue per stack (then comments on it), posts to Slack and writes the summary; a passing one closes it", async () => {
        const failing = () =>
            world(
                { RESTORE_OUTCOME: "failure", ROLLBACK_OUTCOME: "success" },
                {
                    "drill-restore.txt":
                        "drill restore of staging: succeeded in 12.3 s\ndrill snapshot of staging: failed in 4.0 s: Stack 'staging' has no snapshot branch to restore\n",
                    "drill-rollback.txt": ROLLBACK_OK,
                },
            );
        const io = failing();
        assert.equal(await reportDrillRun("staging", { rollback: true, slack: true }, io), 0);
        assert.deepEqual([...io.labels], ["drill"]);
        assert.equal(io.issues.length, 1);
        const [issue] = io.issues;
        assert.deepEqual([issue.title, issue.label, issue.open], ["Drill failed: staging", "drill", true]);
        assert.match(issue.body, /^#### Drill of staging: FAILED$/m);
        assert.match(issue.body, /^\| snapshot \| \*\*FAILED\*\* \| 4\.0 s \| Stack 'staging' has no snapshot branch to restore \|$/m);
        assert.match(issue.body, /^\| rollback \| passed \| 161\.0 s \| back 80\.2 s, forward 80\.8 s \|$/m);
        assert.match(issue.body, /<summary><code>\.\/keel db drill --stack staging --yes<\/code>: failure<\/summary>/);
        assert.match(
            issue.body,
            /`npm run keel -- db drill --stack staging --yes`, then `npm run keel -- rollback drill --stack staging --yes`/,
        );
        assert.deepEqual(io.slack, [
            "Drill of staging: FAILED. restore 12.3 s; snapshot FAILED: Stack 'staging' has no snapshot branch to restore; " +
                "rollback 161.0 s (back 80.2 s, forward 80.8 s). Run: https://example.test/run/1. Issue: https://github.example/o/r/issues/7",
        ]);
        assert.match(io.files[SUMMARY], /^### Drill of staging: FAILED$/m);

        // The next failure comments on the open issue.
        const again = failing();
        again.issues = io.issues;
        again.labels = io.labels;
        await reportDrillRun("staging", { rollback: true, slack: true }, again);
        assert.equal(again.issues.length, 1, "still one issue");
        assert.equal(again.issues[0].comments.length, 1);

        // A drill that passes closes it, and says so on Slack.
        const passing = world(
            { RESTORE_OUTCOME: "success", ROLLBACK_OUTCOME: "success" },
            { "drill-restore.txt": RESTORE_OK, "drill-rollback.txt": ROLLBACK_OK },
        );
        passing.issues = again.issues;
        assert.equal(await reportDrillRun("staging", { rollback: true, slack: true }, passing), 0);
        assert.equal(passing.issues[0].open, false);
        assert.equal(passing.issues[0].comments.at(-1), "The drill passed again: https://example.test/run/1");
        assert.deepEqual(passing.slack, [
            "Drill of staging: passed. restore 12.3 s; snapshot 20.1 s; rollback 161.0 s (back 80.2 s, forward 80.8 s). Run: https://example.test/run/1",
        ]);
        assert.equal(passing.ghCalls().filter((c) => c.startsWith("issue create")).length, 0);
    });

    it("a step that failed before its drill line, or did not run, is a failure; without --rollback the rollback drill is not expected", () => {
        const io = world({ RESTORE_OUTCOME: "skipped" }, {});
        const run = readDrillRun("prod", { rollback: false, slack: false }, io);
        assert.deepEqual(
            run.steps.map((s) => s.step),
            ["restore"],
        );
        assert.equal(
            drillSlackText(run),
            "Drill of prod: FAILED. restore did not complete (skipped): see the run's log. Run: https://example.test/run/1",
        );
        const early = readDrillRun(
            "prod",
            { rollback: false, slack: false },
            world({ RESTORE_OUTCOME: "failure" }, { "drill-restore.txt": "error: no stack\n" }),
        );
        assert.match(drillSlackText(early), /^Drill of prod: FAILED\. restore did not complete \(failure\)/);
    });

    it("Slack off: the text is only printed; a webhook that refuses is a warning, never a failure", async () => {
        const off = world({ RESTORE_OUTCOME: "success" }, { "drill-restore.txt": RESTORE_OK });
        assert.equal(await reportDrillRun("staging", { rollback: false, slack: false }, off), 0);
        assert.deepEqual(off.slack, []);
        assert.match(off.log, /Slack is off for this project: Drill of staging: passed/);
        const refusing = world({ RESTORE_OUTCOME: "success" }, { "drill-restore.txt": RESTORE_OK });
        refusing.slackStatus = 500;
        assert.equal(await reportDrillRun("staging", { rollback: false, slack: true }, refusing), 0);
        assert.match(refusing.log, /::warning::Slack did not take the post/);
    });

    it("a GitHub that refuses fails with what to check", async () => {
        const io = world({ RESTORE_OUTCOME: "failure" }, {});
        io.ghFailing.add("label create");
        await assert.rejects(
            reportDrillRun("prod", { rollback: false, slack: false }, io),
            /Could not create the label 'drill': gh HTTP 403/,
        );
    });
});

describe("the drill line", () => {
    it("round-trips every part, the last line of a part winning", () => {
        const lines = [
            { drill: "restore" as const, stack: "staging", outcome: "succeeded" as const, durationMs: 12_300 },
            { drill: "snapshot" as const, stack: "staging", outcome: "failed" as const, durationMs: 4_000, cause: "no snapshot: a: b" },
            {
                drill: "rollback" as const,
                stack: "staging",
                outcome: "failed" as const,
                durationMs: 90_000,
                backMs: 80_200,
                forwardMs: 9_800,
                cause: "x",
            },
            { drill: "rollback" as const, stack: "prod", outcome: "succeeded" as const, durationMs: 1_000, backMs: 500 },
        ];
        const text = ["noise", ...lines.map(formatDrillLine), "drill restore of staging: failed in 1.0 s: later"].join("\n");
        assert.deepEqual(parseDrillLines(text), [
            { ...lines[0], outcome: "failed", durationMs: 1_000, cause: "later" },
            lines[1],
            lines[2],
            lines[3],
        ]);
        assert.equal(formatDrillLine(lines[2]), "drill rollback of staging: failed in 90.0 s (back 80.2 s, forward 9.8 s): x");
    });

    it("a cause is one line, and neither a URL's password nor a known secret gets into it", () => {
        assert.equal(
            oneLineCause(new Error("connect postgresql://app:s3cret@db.example/app failed\n  with token-value-123"), ["token-value-123"]),
            "connect postgresql://app:***@db.example/app failed with ***",
        );
        assert.equal(oneLineCause(new Error("first\n  second\nthird")), "first second third");
    });
});
