/** keel monitor check's logic (components/operations/monitor.ts) against a fake world. */
import { strict as assert } from "assert";
import { monitorCheck, MonitorOptions } from "../../components/operations/monitor";
import { FAKE_WEBHOOK, FakeOperationsIo } from "../support/fakeOperationsIo";

const BACKEND = "https://api.example/healthz";
const FRONTEND = "https://web.example/";
const prod: MonitorOptions = { stack: "prod", environment: "production", branch: "main", backend: true, frontend: false, slack: true };

function world(env: Record<string, string> = {}): FakeOperationsIo {
    return new FakeOperationsIo({
        BACKEND_HEALTH_URL: BACKEND,
        FRONTEND_HEALTH_URL: FRONTEND,
        SLACK_WEBHOOK_URL: FAKE_WEBHOOK,
        RUN_URL: "https://github.example/run/1",
        ROLLBACK_URL: "https://github.com/o/r/actions/workflows/rollback.yml",
        ...env,
    });
}

const ROLLBACK =
    /Roll back: the Rollback workflow \(https:\/\/github\.com\/o\/r\/actions\/workflows\/rollback\.yml, Run workflow from the main branch, stack prod\) or npm run rollback -- --stack prod --previous --yes/;

describe("keel monitor check", () => {
    it("posts once when an incident starts, not again while it lasts, once on recovery; never fails the job for an unhealthy stack", async () => {
        const io = world();
        const check = async (answer: number | undefined) => {
            io.answers[BACKEND] = [answer];
            return monitorCheck(prod, io);
        };
        assert.equal(await check(200), 0, io.log);
        assert.deepEqual(io.slack, []);
        assert.match(io.log, /Healthy\.\n$/);

        assert.equal(await check(503), 0, io.log);
        assert.equal(io.slack.length, 1);
        assert.match(
            io.slack[0],
            /^:red_circle: prod is unhealthy: backend \(https:\/\/api\.example\/healthz\) answered 503 \(https:\/\/github\.example\/run\/1\)\. /,
        );
        // The alert and the issue name the button and the command.
        assert.match(io.slack[0], ROLLBACK);
        assert.match(io.log, /::error::backend \(https:\/\/api\.example\/healthz\) answered 503/);
        assert.equal(io.issues.length, 1);
        assert.deepEqual([io.issues[0].title, io.issues[0].label], ["Incident: prod is unhealthy", "incident"]);
        assert.match(
            io.issues[0].body,
            /^The monitor found: backend .* answered 503\. First seen: https:\/\/github\.example\/run\/1\. Roll back: /,
        );
        assert.match(io.issues[0].body, ROLLBACK);
        assert.match(io.issues[0].body, /This issue closes itself when the checks pass again\.$/);
        assert.deepEqual([...io.labels], ["incident"]);

        assert.equal(await check(undefined), 0, io.log);
        assert.equal(io.slack.length, 1, "no second post while the incident is open");
        assert.match(io.log, /Incident #7 is already open: no new alert\./);
        assert.equal(io.issues.length, 1);

        assert.equal(await check(204), 0, io.log);
        assert.equal(io.slack.length, 2);
        assert.match(io.slack[1], /^:large_green_circle: prod has recovered \(https:\/\/github\.example\/run\/1\)$/);
        assert.equal(io.issues[0].open, false);
        assert.deepEqual(io.issues[0].comments, ["Recovered: every check answered 2xx. https://github.example/run/1"]);

        assert.equal(await check(200), 0);
        assert.equal(io.slack.length, 2);
    });

    it("retries a URL twice, 5 s apart, before it counts as unhealthy", async () => {
        const io = world();
        io.answers[BACKEND] = [503, 502, 200];
        assert.equal(await monitorCheck(prod, io), 0);
        assert.deepEqual(io.sleeps, [5_000, 5_000]);
        assert.equal(io.requests.length, 3);
        assert.deepEqual(io.issues, []);
        const down = world();
        down.answers[BACKEND] = [503];
        await monitorCheck(prod, down);
        assert.equal(down.requests.length, 3, "three tries in all");
    });

    it("checks the frontend only where asked; a missing URL fails the job naming the environment", async () => {
        const io = world();
        io.answers[BACKEND] = [200];
        io.answers[FRONTEND] = [500];
        assert.equal(await monitorCheck({ ...prod, frontend: true }, io), 0);
        assert.match(io.issues[0].body, /frontend \(https:\/\/web\.example\/\) answered 500/);

        const missing = world({ FRONTEND_HEALTH_URL: "" });
        missing.answers[BACKEND] = [200];
        assert.equal(await monitorCheck({ ...prod, frontend: true }, missing), 1);
        assert.match(
            missing.log,
            /::error::The repository has no KEEL_PROD_FRONTEND_HEALTH_URL variable: the prod stack's keel stack up sets it \(or set it under Settings > Secrets and variables > Actions > Variables\)\./,
        );
    });

    it("Slack on without a webhook fails the alert before the issue; off: only said", async () => {
        const io = world({ SLACK_WEBHOOK_URL: "" });
        io.answers[BACKEND] = [503];
        await assert.rejects(monitorCheck(prod, io), /No SLACK_WEBHOOK_URL secret: could not post: :red_circle: prod is unhealthy/);
        assert.deepEqual(io.issues, []);
        const off = world();
        off.answers[BACKEND] = [503];
        assert.equal(await monitorCheck({ ...prod, slack: false }, off), 0);
        assert.deepEqual(off.slack, []);
        assert.match(off.log, /Slack is off for this project: :red_circle: prod is unhealthy/);
        assert.equal(off.issues.length, 1);
    });

    it("a GitHub that refuses the issue calls fails with what to check", async () => {
        const io = world();
        io.answers[BACKEND] = [200];
        io.ghFailing.add("issue list");
        await assert.rejects(
            monitorCheck(prod, io),
            /Could not list the open 'incident' issues: gh HTTP 403.*Fix: the job needs `permissions: issues: write`/,
        );
    });
});
