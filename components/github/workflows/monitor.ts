/** monitor.yml: every 5 minutes the stacks' health URLs; Slack once per incident and once on recovery. */
import { STEP_ENV } from "../../operations/stepEnv";
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import {
    BASH,
    byStack,
    GH_ENV,
    healthInputs,
    NO_PERMISSIONS,
    checkout,
    keelRun,
    npmCi,
    setupNode,
    shellWord,
    ROLLBACK_URL,
    RUN_URL,
    RUNNER,
    workflow,
} from "./steps";

export function monitorWorkflow(o: WorkflowOptions): Workflow {
    const watched = o.stacks.filter((s) => s.hasBackend || s.hasFrontend);
    if (watched.length === 0) {
        return workflow({
            name: WORKFLOW_NAMES.monitor,
            on: { workflow_dispatch: {} },
            permissions: NO_PERMISSIONS,
            defaults: BASH,
            jobs: {
                monitor: {
                    name: "monitor",
                    "runs-on": RUNNER,
                    permissions: {},
                    "timeout-minutes": 5,
                    steps: [
                        { name: "Nothing to monitor", run: 'echo "No deployed stack has a backend or a frontend: nothing to check."\n' },
                    ],
                },
            },
        });
    }
    return workflow({
        name: WORKFLOW_NAMES.monitor,
        on: { schedule: [{ cron: "*/5 * * * *" }], workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack({ ...o, stacks: watched }, "monitor", (s) => {
            const env: Record<string, string> = { ...GH_ENV, [STEP_ENV.runUrl]: RUN_URL };
            const health = healthInputs(o, s);
            Object.assign(env, health.env);
            const args = [
                "monitor",
                "check",
                "--stack",
                s.stack,
                "--environment",
                shellWord(s.environment),
                "--branch",
                s.branch,
                ...health.flags,
            ];
            env[STEP_ENV.rollbackUrl] = ROLLBACK_URL;
            return {
                name: `monitor (${s.stack})`,
                "runs-on": RUNNER,
                // No environment: a required reviewer would hold a check that runs every 5 minutes.
                // The URLs are repository variables per stack and the webhook a repository secret.
                permissions: { contents: "read", issues: "write" },
                concurrency: { group: `monitor-${s.stack}`, "cancel-in-progress": false },
                // The checkout and npm ci for ./keel, then at most three tries of 10 s per URL.
                "timeout-minutes": 10,
                steps: [
                    checkout(),
                    // No npm cache: the webhook secret is around (a cache is shared with other runs).
                    setupNode(o, false),
                    npmCi,
                    {
                        // The incident's state is an open issue labelled `incident` (components/operations/monitor.ts).
                        name: "Check health, alert once per incident",
                        env,
                        run: keelRun(...args),
                    },
                ],
            };
        }),
    });
}
