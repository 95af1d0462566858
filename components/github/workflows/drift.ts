/** drift.yml: the daily drift check per stack, one issue per drifting stack. */
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import { BASH, byStack, GH_ENV, JOB_ENV, NO_PERMISSIONS, pulumiSetup, RUN_URL, RUNNER, script, stackSecrets, workflow } from "./steps";

export function driftWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.drift,
        on: { schedule: [{ cron: "17 6 * * *" }], workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "drift", (s) => {
            const title = `Drift detected in ${s.stack}`;
            const drift = `npm run drift -- --stack ${s.stack}`;
            const preview = `npm run preview -- ${s.stack} --refresh --expect-no-changes`;
            const findIssue = `number=$(gh issue list --state open --label drift --limit 100 --json number,title --jq '.[] | select(.title == "${title}") | .number' | head -n 1)`;
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
                            `${drift} --markdown "$RUNNER_TEMP/drift.md" 2>&1 | tee "$RUNNER_TEMP/drift.txt"`,
                            "drift=${PIPESTATUS[0]}",
                            `${preview} 2>&1 | tee "$RUNNER_TEMP/preview.txt"`,
                            "preview=${PIPESTATUS[0]}",
                            'echo "drift=$drift" >> "$GITHUB_OUTPUT"',
                            'echo "preview=$preview" >> "$GITHUB_OUTPUT"',
                            '[ "$drift" -eq 0 ] && [ "$preview" -eq 0 ]',
                        ),
                    },
                    {
                        // Markdown code spans in double quotes, their backticks escaped (in single quotes
                        // shellcheck takes them for command substitutions that will not run: SC2016).
                        name: "Open or update the drift issue",
                        if: "failure() && steps.drift.outcome == 'failure'",
                        env: {
                            ...GH_ENV,
                            RUN_URL,
                            DRIFT_EXIT: "${{ steps.drift.outputs.drift }}",
                            PREVIEW_EXIT: "${{ steps.drift.outputs.preview }}",
                        },
                        run: script(
                            "{",
                            `  echo 'The daily drift check of the ${s.stack} stack did not come back clean.'`,
                            "  echo",
                            '  echo "Run: $RUN_URL"',
                            "  echo",
                            `  echo "\\\`${drift}\\\` (exit \${DRIFT_EXIT:-?}; 1: drift, 2: a stack not checked, the table says why):"`,
                            "  echo",
                            '  if [ -s "$RUNNER_TEMP/drift.md" ]; then',
                            '    cat "$RUNNER_TEMP/drift.md"',
                            "  else",
                            "    echo '```'",
                            '    tail -c 30000 "$RUNNER_TEMP/drift.txt"',
                            "    echo '```'",
                            "  fi",
                            "  echo",
                            `  echo "<details><summary><code>${preview}</code> (this branch's code against the cloud): exit \${PREVIEW_EXIT:-?}</summary>"`,
                            "  echo",
                            "  echo '```'",
                            '  tail -c 30000 "$RUNNER_TEMP/preview.txt"',
                            "  echo '```'",
                            "  echo '</details>'",
                            "  echo",
                            `  echo "Settle it with \\\`npm run up -- ${s.stack}\\\` (the code wins) or \\\`npm run refresh -- ${s.stack}\\\` (the cloud wins); the next clean check closes this issue."`,
                            '} > "$RUNNER_TEMP/issue.md"',
                            `gh label create drift --color D93F0B --description "Keel: a stack differs from its state" --force`,
                            findIssue,
                            'if [ -n "$number" ]; then',
                            '  gh issue comment "$number" --body-file "$RUNNER_TEMP/issue.md"',
                            "else",
                            `  gh issue create --title "${title}" --label drift --body-file "$RUNNER_TEMP/issue.md"`,
                            "fi",
                        ),
                    },
                    {
                        name: "Close the drift issue",
                        if: "success()",
                        env: { ...GH_ENV, RUN_URL },
                        run: script(
                            findIssue,
                            'if [ -n "$number" ]; then gh issue close "$number" --comment "No drift any more: $RUN_URL"; fi',
                        ),
                    },
                ],
            };
        }),
    });
}
