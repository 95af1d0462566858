/** drift.yml: the daily drift check per stack, one issue per drifting stack. */
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import { DRIFT_FILES, driftCommand, refreshPreviewCommand } from "../../operations/driftIssue";
import { STEP_ENV } from "../../operations/stepEnv";
import {
    BASH,
    byStack,
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

export function driftWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.drift,
        on: { schedule: [{ cron: "17 6 * * *" }], workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "drift", (s) => {
            const drift = driftCommand(s.stack);
            const preview = refreshPreviewCommand(s.stack);
            const temp = (file: string) => `"$RUNNER_TEMP/${file}"`;
            return {
                name: `drift (${s.stack})`,
                "runs-on": RUNNER,
                environment: s.environment,
                permissions: { contents: "read", issues: "write" },
                concurrency: { group: `drift-${s.stack}`, "cancel-in-progress": false },
                "timeout-minutes": 30,
                env: JOB_ENV,
                steps: [
                    ...pulumiSetup(o, s),
                    {
                        // Two checks, both run: npm run drift (a refresh preview: resources changed outside Keel, the
                        // schema's objects changed outside migrations, pending migrations; its Markdown lists each one for
                        // the issue) and the preview of this branch's code against the refreshed cloud.
                        name: "Check for drift",
                        id: "drift",
                        env: stackSecrets(o),
                        run: script(
                            "set +e",
                            `${drift} --markdown ${temp(DRIFT_FILES.markdown)} 2>&1 | tee ${temp(DRIFT_FILES.driftLog)}`,
                            "drift=${PIPESTATUS[0]}",
                            `${preview} 2>&1 | tee ${temp(DRIFT_FILES.previewLog)}`,
                            "preview=${PIPESTATUS[0]}",
                            'echo "drift=$drift" >> "$GITHUB_OUTPUT"',
                            'echo "preview=$preview" >> "$GITHUB_OUTPUT"',
                            '[ "$drift" -eq 0 ] && [ "$preview" -eq 0 ]',
                        ),
                    },
                    {
                        // The check's files and exit codes become the issue (components/operations/driftIssue.ts).
                        name: "Open or update the drift issue",
                        if: "failure() && steps.drift.outcome == 'failure'",
                        env: {
                            ...GH_ENV,
                            [STEP_ENV.runUrl]: RUN_URL,
                            [STEP_ENV.driftExit]: "${{ steps.drift.outputs.drift }}",
                            [STEP_ENV.previewExit]: "${{ steps.drift.outputs.preview }}",
                        },
                        run: keelRun("issue", "drift", "--stack", s.stack),
                    },
                    {
                        name: "Close the drift issue",
                        if: "success()",
                        env: { ...GH_ENV, [STEP_ENV.runUrl]: RUN_URL },
                        run: keelRun("issue", "drift", "--stack", s.stack, "--resolved"),
                    },
                ],
            };
        }),
    });
}
