/** keel issue drift's logic (components/operations/driftIssue.ts) against a fake world. */
import { strict as assert } from "assert";
import { driftIssueBody, reportDrift, resolveDrift } from "../../components/operations/driftIssue";
import { FakeOperationsIo } from "../support/fakeOperationsIo";

const TEMP = "/runner/tmp";

function world(files: Record<string, string>): FakeOperationsIo {
    const io = new FakeOperationsIo({ RUNNER_TEMP: TEMP, RUN_URL: "https://example.test/run/1", DRIFT_EXIT: "1", PREVIEW_EXIT: "0" });
    for (const [name, text] of Object.entries(files)) io.files[`${TEMP}/${name}`] = text;
    return io;
}

describe("keel issue drift", () => {
    it("opens one issue per drifting stack with the drift command's Markdown, then comments on it; a clean check closes it", async () => {
        const io = world({
            "drift.md": "| stack |\n\n- `+ index public.accounts_email_idx: CREATE INDEX ...`\n",
            "drift.txt": "prod: drift\n",
            "preview.txt": "Previewing update (prod)\n",
        });
        assert.equal(await reportDrift("prod", io), 0);
        assert.deepEqual([...io.labels], ["drift"]);
        assert.equal(io.issues.length, 1);
        const [issue] = io.issues;
        assert.deepEqual([issue.title, issue.label], ["Drift detected in prod", "drift"]);
        assert.match(issue.body, /^- `\+ index public\.accounts_email_idx: CREATE INDEX \.\.\.`$/m);
        assert.match(issue.body, /^`npm run drift -- --stack prod` \(exit 1; 1: drift, 2: a stack not checked, the table says why\):$/m);
        assert.match(issue.body, /^Run: https:\/\/example\.test\/run\/1$/m);
        assert.match(
            issue.body,
            /^Settle it with `npm run up -- prod` \(the code wins\) or `npm run refresh -- prod` \(the cloud wins\); /m,
        );
        assert.match(issue.body, /<summary><code>npm run preview -- prod --refresh --expect-no-changes<\/code> .*: exit 0<\/summary>/);
        assert.match(issue.body, /```\nPreviewing update \(prod\)\n```\n<\/details>/);
        assert.ok(!issue.body.includes("prod: drift"), "the Markdown, not the log, when there is Markdown");

        assert.equal(await reportDrift("prod", io), 0);
        assert.equal(io.issues.length, 1, "still one issue");
        assert.equal(io.issues[0].comments.length, 1);

        assert.equal(await resolveDrift("prod", io), 0);
        assert.equal(io.issues[0].open, false);
        assert.equal(io.issues[0].comments[1], "No drift any more: https://example.test/run/1");
        assert.equal(await resolveDrift("prod", io), 0, "nothing open: nothing to close");
        assert.equal(io.ghCalls().filter((c) => c.startsWith("issue close")).length, 1);
    });

    it("without Markdown, the drift command's log (its end), fenced; unknown exits read ?", () => {
        const body = driftIssueBody({
            stack: "staging",
            runUrl: "u",
            driftExit: "",
            previewExit: "",
            driftLog: "x".repeat(40_000),
            previewLog: "",
        });
        assert.match(body, /\(exit \?; 1: drift/);
        assert.match(body, /: exit \?<\/summary>/);
        assert.match(body, new RegExp("```\\n" + "x".repeat(30_000) + "\\n```"));
        assert.ok(!body.includes("x".repeat(30_001)));
    });

    it("a GitHub that refuses fails with what to check", async () => {
        const io = world({});
        io.ghFailing.add("label create");
        await assert.rejects(reportDrift("prod", io), /Could not create the label 'drift': gh HTTP 403/);
    });
});
