/**
 * drill.yml: the restore drill of every stack (each has a database) once a month and on
 * demand, and on staging-stage stacks the rollback drill after it (to the previous version
 * and forward again); the result to the job summary, to Slack when on, and a failure to
 * the stack's one drill issue (`keel issue drill`, components/operations/drillIssue.ts).
 *
 * A stack's environment takes jobs only from the stack's branch, and a scheduled run always
 * runs on the default branch: so the schedule only dispatches the workflow once per stack,
 * on that stack's branch (`gh workflow run --ref`, which the job's token may start), and
 * the drills themselves run on workflow_dispatch from their own branch.
 */
import { DRILL_ENV, DRILL_FILES, restoreDrillCommand, rollbackDrillCommand } from "../../operations/drillIssue";
import { SLACK_WEBHOOK_VARIABLE } from "../../operations/slack";
import { STEP_ENV } from "../../operations/stepEnv";
import { Step, Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import {
    BASH,
    byStack,
    DEPLOY_MINUTES,
    deployGroup,
    GH_ENV,
    JOB_ENV,
    keelRun,
    NO_PERMISSIONS,
    pulumiSetup,
    RUN_URL,
    RUNNER,
    script,
    stackSecrets,
    workflow,
} from "./steps";

/** The workflow's file, which the schedule's dispatch names. */
export const DRILL_FILE = "drill.yml";
/** The first of every month, 06:00 UTC. */
export const DRILL_CRON = "0 6 1 * *";
/** Minutes the restore drill may take (a dump and restore of the whole database, or two Neon branches). */
export const RESTORE_DRILL_MINUTES = 60;

export function drillWorkflow(o: WorkflowOptions): Workflow {
    const stacks = o.stacks.map((s) => s.stack);
    return workflow({
        name: WORKFLOW_NAMES.drill,
        on: {
            schedule: [{ cron: DRILL_CRON }],
            workflow_dispatch: {
                inputs: {
                    stack: {
                        description: "The stack to drill (run the workflow from its branch), or all",
                        required: true,
                        type: "choice",
                        options: ["all", ...stacks],
                        default: "all",
                    },
                },
            },
        },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: {
            dispatch: {
                name: "dispatch the monthly drills onto each stack's branch",
                if: "github.event_name == 'schedule'",
                "runs-on": RUNNER,
                permissions: { actions: "write" },
                "timeout-minutes": 5,
                env: GH_ENV,
                steps: [
                    {
                        name: "One run per stack, on its branch",
                        run: script(
                            `for pair in ${o.stacks.map((s) => `${s.stack}:${s.branch}`).join(" ")}; do gh workflow run ${DRILL_FILE} --ref "\${pair#*:}" -f stack="\${pair%%:*}"; echo "dispatched the drill of \${pair%%:*} on \${pair#*:}"; done`,
                        ),
                    },
                ],
            },
            ...byStack(o, "drill", (s) => {
                // The rollback drill puts the previous version live for minutes: staging only, never prod.
                const rollback = s.stage === "staging";
                const temp = (file: string) => `"$RUNNER_TEMP/${file}"`;
                const steps: Step[] = [
                    // The rollback drill runs the program of an earlier commit: the whole history.
                    ...pulumiSetup(o, s, rollback ? { "fetch-depth": 0 } : {}),
                    {
                        name: "Restore drill",
                        id: "restore",
                        "timeout-minutes": RESTORE_DRILL_MINUTES,
                        env: stackSecrets(o),
                        run: script(`${restoreDrillCommand(s.stack)} 2>&1 | tee ${temp(DRILL_FILES.restore)}`),
                    },
                ];
                if (rollback) {
                    steps.push({
                        name: "Rollback drill",
                        id: "rollback",
                        // Whatever the restore drill found, but not when the setup failed before it.
                        if: "!cancelled() && steps.restore.outcome != 'skipped'",
                        "timeout-minutes": 2 * DEPLOY_MINUTES,
                        env: stackSecrets(o),
                        run: script(`${rollbackDrillCommand(s.stack)} 2>&1 | tee ${temp(DRILL_FILES.rollback)}`),
                    });
                }
                const env: Record<string, string> = {
                    ...GH_ENV,
                    [STEP_ENV.runUrl]: RUN_URL,
                    [DRILL_ENV.restoreOutcome]: "${{ steps.restore.outcome }}",
                    ...(rollback ? { [DRILL_ENV.rollbackOutcome]: "${{ steps.rollback.outcome }}" } : {}),
                    ...(o.slack ? { [SLACK_WEBHOOK_VARIABLE]: `\${{ secrets.${SLACK_WEBHOOK_VARIABLE} }}` } : {}),
                };
                steps.push({
                    // The summary, Slack, and the stack's one drill issue (opened on a failure, closed on a pass).
                    name: "Report the drill",
                    if: "!cancelled()",
                    env,
                    run: keelRun(
                        "issue",
                        "drill",
                        "--stack",
                        s.stack,
                        ...(rollback ? ["--rollback"] : []),
                        ...(o.slack ? ["--slack"] : []),
                    ),
                });
                return {
                    name: `drill (${s.stack})`,
                    // On demand (the schedule dispatches each stack on its branch): the stack asked for, or all those of this branch.
                    if: `github.event_name == 'workflow_dispatch' && github.ref == 'refs/heads/${s.branch}' && (inputs.stack == 'all' || inputs.stack == '${s.stack}')`,
                    "runs-on": RUNNER,
                    environment: s.environment,
                    permissions: { contents: "read", issues: "write" },
                    // A rollback drill is two deploys: never beside a deploy or rollback of the same stack.
                    concurrency: { group: rollback ? deployGroup(s) : `drill-${s.stack}`, "cancel-in-progress": false },
                    "timeout-minutes": 20 + RESTORE_DRILL_MINUTES + (rollback ? 2 * DEPLOY_MINUTES : 0),
                    env: JOB_ENV,
                    steps,
                };
            }),
        },
    });
}
