/**
 * metrics.yml: every Monday and on demand, `keel metrics` over the last 7 days to the job
 * summary and (when on) Slack. One job: the stacks share one state backend
 * (keel:github.state), whose credentials it takes from the environment of the stack that
 * deploys from the default branch (where a scheduled run is let in), else the prod stack's.
 */
import { SLACK_WEBHOOK_VARIABLE } from "../../operations/slack";
import { STEP_ENV } from "../../operations/stepEnv";
import { Workflow, WORKFLOW_NAMES, WorkflowOptions, WorkflowStack } from "./contract";
import { BASH, GH_ENV, JOB_ENV, keelRun, NO_PERMISSIONS, pulumiSetup, RUNNER, stateCheck, workflow } from "./steps";

/** Mondays, 07:00 UTC. */
export const METRICS_CRON = "0 7 * * 1";

/** The stack whose environment the digest reads the state with. */
export function metricsStack(o: WorkflowOptions): WorkflowStack {
    return o.stacks.find((s) => s.branch === o.defaultBranch) ?? o.stacks.find((s) => s.stage === "prod") ?? o.stacks[0];
}

export function metricsWorkflow(o: WorkflowOptions): Workflow {
    const s = metricsStack(o);
    // Reading the history and the records needs the state's credentials only: no vendor token.
    // gh lists the incident issues (the monitor keeps incidents there).
    const env: Record<string, string> = { ...stateCheck(o, s).env, ...GH_ENV };
    if (o.slack) env[SLACK_WEBHOOK_VARIABLE] = `\${{ secrets.${SLACK_WEBHOOK_VARIABLE} }}`;
    return workflow({
        name: WORKFLOW_NAMES.metrics,
        on: { schedule: [{ cron: METRICS_CRON }], workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: {
            metrics: {
                name: "metrics",
                "runs-on": RUNNER,
                environment: s.environment,
                permissions: { contents: "read", issues: "read" },
                concurrency: { group: "metrics", "cancel-in-progress": true },
                "timeout-minutes": 20,
                env: JOB_ENV,
                steps: [
                    // The whole history: lead times of deploys recorded before their commit's time was.
                    ...pulumiSetup(o, s, { "fetch-depth": 0 }),
                    {
                        name: "Metrics of the last 7 days",
                        env,
                        run: keelRun(
                            "metrics",
                            "--since",
                            "7d",
                            "--markdown",
                            `"$${STEP_ENV.stepSummary}"`,
                            ...(o.slack ? ["--slack"] : []),
                        ),
                    },
                ],
            },
        },
    });
}
