/** keel deploy watch's logic (components/operations/deployWatch.ts) against a fake world: probes, rollback, incident issue, Slack, summary. */
import { strict as assert } from "assert";
import { deployWatch, DeployWatchOptions, probeCount, recoveredIn, watchSettings } from "../../components/operations/deployWatch";
import { FAKE_WEBHOOK, FakeOperationsIo } from "../support/fakeOperationsIo";

const BACKEND = "https://api.example/healthz";
const FRONTEND = "https://web.example/";
const COMMIT = "abc1234def5678abc1234def5678abc1234def56";
const SUMMARY = "/runner/summary.md";

const prod: DeployWatchOptions = { stack: "prod", environment: "production", branch: "main", backend: true, frontend: false, slack: true };

function world(
    settings: { minutes: string; interval?: string; failures?: string; logs?: string },
    env: Record<string, string> = {},
): FakeOperationsIo {
    return new FakeOperationsIo({
        WATCH_MINUTES: settings.minutes,
        WATCH_INTERVAL_SECONDS: settings.interval ?? "20",
        WATCH_FAILURES: settings.failures ?? "3",
        BACKEND_LOGS: settings.logs ?? "fly logs -a shop-prod",
        BACKEND_HEALTH_URL: BACKEND,
        FRONTEND_HEALTH_URL: FRONTEND,
        SLACK_WEBHOOK_URL: FAKE_WEBHOOK,
        RUN_URL: "https://github.example/run/1",
        ROLLBACK_URL: "https://github.com/o/r/actions/workflows/rollback.yml",
        COMMIT,
        GITHUB_STEP_SUMMARY: SUMMARY,
        ...env,
    });
}

describe("keel deploy watch", () => {
    it("reads its settings from the step's env: defaults when unset, an error naming the variables when not whole numbers", () => {
        assert.deepEqual(watchSettings({}, prod), { minutes: 0, intervalSeconds: 20, failures: 3 });
        assert.deepEqual(watchSettings({ WATCH_MINUTES: "5", WATCH_INTERVAL_SECONDS: "30", WATCH_FAILURES: "2" }, prod), {
            minutes: 5,
            intervalSeconds: 30,
            failures: 2,
        });
        for (const bad of [
            { WATCH_MINUTES: "-1" },
            { WATCH_MINUTES: "5", WATCH_INTERVAL_SECONDS: "0" },
            { WATCH_MINUTES: "5", WATCH_FAILURES: "x" },
        ]) {
            const r = watchSettings(bad, prod);
            assert.equal(typeof r, "string", JSON.stringify(bad));
            assert.match(
                r as string,
                /KEEL_WATCH_MINUTES, KEEL_WATCH_INTERVAL_SECONDS and KEEL_WATCH_FAILURES in the production environment/,
            );
            assert.match(r as string, /npm run up -- prod sets them again/);
        }
        assert.equal(probeCount({ minutes: 2, intervalSeconds: 20, failures: 3 }), 6);
        assert.equal(
            probeCount({ minutes: 1, intervalSeconds: 45, failures: 3 }),
            2,
            "a watch that does not divide evenly still covers its minutes",
        );
        assert.equal(recoveredIn("recovered in 3 s\n...\nrecovered in 12.5 s\n"), "recovered in 12.5 s");
        assert.equal(recoveredIn("error"), undefined);
    });

    it("healthy through the watch: probes every interval for the minutes, no rollback, no issue", async () => {
        const io = world({ minutes: "2", interval: "20", failures: "3" });
        io.answers[BACKEND] = [200];
        assert.equal(await deployWatch(prod, io), 0, io.log);
        assert.equal(io.requests.length, 6, "2 minutes, one probe every 20 s");
        assert.deepEqual(io.sleeps, Array(6).fill(20_000));
        assert.deepEqual(io.calls, []);
        assert.deepEqual(io.slack, []);
        assert.match(io.files[SUMMARY], /### Watch: prod healthy\n\n6 probes in 2 min, one every 20 s; never 3 failed in a row\./);
        assert.match(io.log, /Watching prod for 2 min: a probe every 20 s \(6 probes\); 3 failed in a row roll it back\./);
    });

    it("N failures in a row: rolls back with --previous --yes, opens one incident issue, records the failure for the report step (no Slack post of its own), fails; a second incident comments on the same issue", async () => {
        const io = world({ minutes: "2" });
        io.answers[BACKEND] = [200, 503, 503, 503, 200];
        assert.equal(await deployWatch(prod, io), 1, io.log);
        assert.equal(io.requests.length, 4, "the watch stops at the third failure in a row");
        assert.deepEqual(
            io.calls.filter((c) => c[0] === "npm"),
            [["npm", "run", "rollback", "--", "--stack", "prod", "--previous", "--yes"]],
        );
        assert.match(io.log, /::error::prod failed 3 health probes in a row after deploying abc1234def5678/);
        assert.match(io.log, /Rolling prod back to version 41\n/, "the rollback's output in the log");
        assert.match(
            io.log,
            /::error::prod was unhealthy after the deploy: rolled back to the previous successful version \(recovered in 42 s\)/,
        );
        assert.deepEqual([...io.labels], ["incident"]);
        assert.ok(io.ghCalls().some((c) => /^issue list --state open --label incident /.test(c)));
        assert.equal(io.issues.length, 1);
        const [issue] = io.issues;
        assert.deepEqual([issue.title, issue.label, issue.open], ["Incident: prod is unhealthy", "incident", true]);
        const body = issue.body;
        assert.match(
            body,
            /The deploy of abc1234def5678abc1234def5678abc1234def56 to prod passed its health check, then failed 3 health probes in a row during the 2-minute watch \(one every 20 s\)/,
        );
        assert.match(body, /- Rollback: rolled back to the previous successful version \(recovered in 42 s\)/);
        assert.match(
            body,
            /- Failed version: commit abc1234def5678abc1234def5678abc1234def56 \(deploy run: https:\/\/github\.example\/run\/1\)/,
        );
        assert.match(body, /- Where to look: fly logs -a shop-prod/);
        assert.match(
            body,
            /the Rollback workflow \(https:\/\/github\.com\/o\/r\/actions\/workflows\/rollback\.yml, Run workflow from the main branch, stack prod/,
        );
        assert.match(body, /npm run rollback -- --stack prod --to <version-or-commit> --yes/);
        assert.match(
            body,
            /probe 1\/6: healthy\nprobe 2\/6: backend \(https:\/\/api\.example\/healthz\) answered 503 \(1 in a row\)\n[\s\S]*probe 4\/6: .* \(3 in a row\)/,
        );
        assert.match(body, /Rolling prod back to version 41\nrecovered in 42 s\n```/);
        assert.deepEqual(io.slack, [], "the report step posts the deploy's one notice");
        assert.equal(io.records.length, 1);
        assert.deepEqual(
            { ...io.records[0], at: "" },
            {
                kind: "watch-failed",
                stack: "prod",
                at: "",
                commit: "abc1234def5678abc1234def5678abc1234def56",
                issue: "https://github.example/o/r/issues/7",
            },
        );
        assert.match(io.files[SUMMARY], /### Watch: prod unhealthy, rolled back/);
        assert.match(io.files[SUMMARY], /Incident: https:\/\/github\.example\/o\/r\/issues\/7/);

        // The next bad deploy while the incident is open: the same issue, commented.
        io.answers[BACKEND] = [503];
        io.requests = [];
        assert.equal(await deployWatch(prod, io), 1, io.log);
        assert.equal(io.requests.length, 3);
        assert.equal(io.calls.filter((c) => c[0] === "npm").length, 2);
        assert.equal(io.issues.length, 1, "still one issue");
        assert.equal(io.issues[0].comments.length, 1);
        assert.match(io.issues[0].comments[0], /failed 3 health probes in a row/);
        assert.match((io.records[1] as { issue: string }).issue, /https:\/\/github\.example\/o\/r\/issues\/7#issuecomment-1$/);
    });

    it("flapping below N in a row: no rollback; nothing answering counts as a failure", async () => {
        const io = world({ minutes: "2" });
        io.answers[BACKEND] = [503, 503, 200, 503, undefined, 200];
        assert.equal(await deployWatch(prod, io), 0, io.log);
        assert.equal(io.requests.length, 6);
        assert.deepEqual(io.calls, []);
        assert.match(io.log, /probe 5\/6: backend \(https:\/\/api\.example\/healthz\) answered 000 \(2 in a row\)/);
    });

    it("counts a failing frontend as a failed probe (only for a stack with one)", async () => {
        const io = world({ minutes: "1", interval: "20", failures: "2" });
        io.answers[BACKEND] = [200];
        io.answers[FRONTEND] = [200, 500];
        assert.equal(await deployWatch({ ...prod, frontend: true }, io), 1, io.log);
        assert.equal(io.calls.filter((c) => c[0] === "npm").length, 1);
        assert.match(io.issues[0].body, /frontend \(https:\/\/web\.example\/\) answered 500 \(2 in a row\)/);
        const without = world({ minutes: "1" });
        without.answers[BACKEND] = [200];
        without.answers[FRONTEND] = [500];
        assert.equal(await deployWatch(prod, without), 0, without.log);
        assert.ok(!without.requests.includes(FRONTEND));
    });

    it("a failed rollback is said so in the issue and the summary, and fails the job", async () => {
        const io = world({ minutes: "1", logs: "https://dashboard.render.com/web/srv-abc/logs" });
        io.answers[BACKEND] = [502];
        io.rollback = { status: 4, output: "Rolling prod back to version 41\nerror: the previous version failed too\n" };
        assert.equal(await deployWatch(prod, io), 1, io.log);
        const body = io.issues[0].body;
        assert.match(body, /- Rollback: the rollback FAILED \(exit 4\): prod may still run abc1234/);
        assert.match(body, /- Where to look: https:\/\/dashboard\.render\.com\/web\/srv-abc\/logs/);
        assert.match(body, /error: the previous version failed too/);
        assert.match(io.files[SUMMARY], /### Watch: prod unhealthy, the rollback FAILED/);
        assert.equal(io.records[0].kind, "watch-failed");
    });

    it("GitHub failing costs only the issue: a warning, the text in the summary, the job still fails for the rollback", async () => {
        const io = world({ minutes: "1" });
        io.answers[BACKEND] = [503];
        io.ghFailing = new Set(["label create", "issue list", "issue create"]);
        assert.equal(await deployWatch(prod, io), 1, io.log);
        assert.match(io.log, /::warning::Could not open or update the incident issue; its text is in the job summary\./);
        assert.match(io.files[SUMMARY], /Incident: not filed\n\nThe deploy of abc1234/);
        assert.equal(io.records.length, 1);
        assert.equal((io.records[0] as { issue?: string }).issue, undefined, "no issue to link");
    });

    it("no watch at 0 minutes; settings that are not numbers fail clearly; never a Slack post of its own; no URL: a warning, nothing to watch", async () => {
        const off = world({ minutes: "0" });
        off.answers[BACKEND] = [503];
        assert.equal(await deployWatch(prod, off), 0, off.log);
        assert.deepEqual([off.requests, off.calls], [[], []]);
        assert.match(off.log, /No watch: keel:backend\.watch\.minutes is 0 for prod\./);

        const bad = world({ minutes: "5", interval: "soon" });
        assert.equal(await deployWatch(prod, bad), 1);
        assert.match(bad.log, /::error::The watch settings .* are not whole numbers: '5', 'soon', '3'/);

        const quiet = world({ minutes: "1" });
        quiet.answers[BACKEND] = [503];
        assert.equal(await deployWatch({ ...prod, slack: false }, quiet), 1, quiet.log);
        assert.deepEqual(quiet.slack, []);
        assert.equal(quiet.issues.length, 1);

        const unset = world({ minutes: "1" }, { BACKEND_HEALTH_URL: "" });
        unset.answers[FRONTEND] = [200];
        assert.equal(await deployWatch({ ...prod, frontend: true }, unset), 0, unset.log);
        assert.deepEqual(new Set(unset.requests), new Set([FRONTEND]), "the frontend alone is watched");
        assert.match(unset.log, /::warning::No KEEL_PROD_BACKEND_HEALTH_URL variable: the watch does not probe the backend\./);
        const none = world({ minutes: "1" }, { BACKEND_HEALTH_URL: "" });
        assert.equal(await deployWatch(prod, none), 0);
        assert.match(none.log, /::warning::Nothing to watch\./);
        assert.deepEqual(none.requests, []);
    });
});
