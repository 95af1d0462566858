/** deploy.yml: `pulumi up` of the stack whose branch was pushed, a health check, then the watch. */
import { WATCH_DEFAULTS } from "../../config/stage";
import {
    incidentTitle,
    LOGS_VARIABLE,
    monitorVariable,
    Step,
    WATCH_VARIABLES,
    Workflow,
    WORKFLOW_NAMES,
    WorkflowOptions,
    WorkflowStack,
} from "./contract";
import {
    BASH,
    byStack,
    DEPLOY_MINUTES,
    deployGroup,
    GH_ENV,
    JOB_ENV,
    NO_PERMISSIONS,
    notifyFunction,
    pulumiSetup,
    rollbackCommand,
    ROLLBACK_URL,
    RUN_URL,
    RUNNER,
    script,
    stackSecrets,
    WATCH_STEP_MINUTES,
    workflow,
} from "./steps";

export function deployWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.deploy,
        on: { push: { branches: o.stacks.map((s) => s.branch) }, workflow_dispatch: {} },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "deploy", (s) => {
            // keel:backend.watch lives with the backend: only a stack with one is watched (and may roll back).
            const watched = s.hasBackend;
            const steps: Step[] = [
                // The whole history: a rollback runs the program of an earlier commit.
                ...pulumiSetup(o, s, watched ? { "fetch-depth": 0 } : {}),
                { name: "Preflight", env: stackSecrets(o), run: `npm run preflight -- --stack ${s.stack}\n` },
                {
                    // Keel's program inline through the engine (no type check per run), the state from PULUMI_BACKEND_URL.
                    name: `npm run up -- ${s.stack}`,
                    "timeout-minutes": DEPLOY_MINUTES,
                    env: stackSecrets(o),
                    run: `npm run up -- ${s.stack} --yes --policy-pack ${o.policyPack}\n`,
                },
            ];
            if (s.hasBackend) {
                steps.push({
                    name: "Health check",
                    env: { HEALTH_URL: "${{ vars.BACKEND_HEALTH_URL }}" },
                    run: script(
                        `if [ -z "$HEALTH_URL" ]; then echo "::error::The ${s.environment} environment has no BACKEND_HEALTH_URL variable. Set it (pulumi stack output backendHealthUrl --stack ${s.stack}) under Settings > Environments > ${s.environment}."; exit 1; fi`,
                        'curl --fail --silent --show-error --location --max-time 10 --retry 12 --retry-delay 5 --retry-all-errors --output /dev/null --write-out "%{http_code} from %{url_effective}\\n" "$HEALTH_URL"',
                    ),
                });
            }
            if (watched) steps.push(watchStep(o, s));
            steps.push(deployFailedSummary(s, watched));
            return {
                name: `deploy (${s.stack})`,
                if: `github.ref == 'refs/heads/${s.branch}'`,
                "runs-on": RUNNER,
                environment: s.environment,
                // The watch opens or updates the incident issue.
                permissions: watched ? { contents: "read", issues: "write" } : { contents: "read" },
                concurrency: { group: deployGroup(s), "cancel-in-progress": false },
                "timeout-minutes": watched ? DEPLOY_MINUTES + WATCH_STEP_MINUTES : DEPLOY_MINUTES,
                env: JOB_ENV,
                steps,
            };
        }),
    });
}

/**
 * After `pulumi up` and the health check: the stack's health URLs (the monitor's) every
 * interval for the watch's minutes; `failures` failed probes in a row run the rollback to the
 * previous successful version, open or update the stack's one incident issue, post to Slack
 * and fail the job. Settings from the stack's environment (WATCH_VARIABLES); counted in
 * probes, not by the clock.
 */
function watchStep(o: WorkflowOptions, s: WorkflowStack): Step {
    const env: Record<string, string> = {
        // The rollback is a Pulumi update: the same credentials as the deploy.
        ...stackSecrets(o),
        ...GH_ENV,
        RUN_URL,
        ROLLBACK_URL,
        COMMIT: "${{ github.sha }}",
        WATCH_MINUTES: `\${{ vars.${WATCH_VARIABLES.minutes} }}`,
        WATCH_INTERVAL_SECONDS: `\${{ vars.${WATCH_VARIABLES.intervalSeconds} }}`,
        WATCH_FAILURES: `\${{ vars.${WATCH_VARIABLES.failures} }}`,
        BACKEND_LOGS: `\${{ vars.${LOGS_VARIABLE} }}`,
        BACKEND_HEALTH_URL: `\${{ vars.${monitorVariable(s.stack, "BACKEND_HEALTH_URL")} }}`,
    };
    const probes = ['  probe backend "$BACKEND_HEALTH_URL"'];
    if (s.hasFrontend) {
        env.FRONTEND_HEALTH_URL = `\${{ vars.${monitorVariable(s.stack, "FRONTEND_HEALTH_URL")} }}`;
        probes.push('  probe frontend "$FRONTEND_HEALTH_URL"');
    }
    // A URL the stack has not set yet is skipped with a warning: the deploy itself succeeded.
    const missing = (what: string, name: "BACKEND_HEALTH_URL" | "FRONTEND_HEALTH_URL") =>
        `if [ -z "$${name}" ]; then echo "::warning::No ${monitorVariable(s.stack, name)} variable: the watch does not probe the ${what}. The stack's own deploy sets it (npm run up -- ${s.stack}); see Settings > Secrets and variables > Actions."; fi`;
    if (o.slack) env.SLACK_WEBHOOK_URL = "${{ secrets.SLACK_WEBHOOK_URL }}";
    const title = incidentTitle(s.stack);
    const settings = `${WATCH_VARIABLES.minutes}, ${WATCH_VARIABLES.intervalSeconds} and ${WATCH_VARIABLES.failures}`;
    return {
        name: "Watch the health URLs, roll back when they fail",
        id: "watch",
        // Unset (before the stack's first deploy with a watch) or 0: no watch.
        if: `vars.${WATCH_VARIABLES.minutes} > 0`,
        "timeout-minutes": WATCH_STEP_MINUTES,
        env,
        run: script(
            `minutes="\${WATCH_MINUTES:-0}" interval="\${WATCH_INTERVAL_SECONDS:-${WATCH_DEFAULTS.intervalSeconds}}" needed="\${WATCH_FAILURES:-${WATCH_DEFAULTS.failures}}"`,
            'if ! [[ "$minutes" =~ ^[0-9]+$ && "$interval" =~ ^[1-9][0-9]*$ && "$needed" =~ ^[1-9][0-9]*$ ]]; then',
            `  echo "::error::The watch settings (${settings} in the ${s.environment} environment) are not whole numbers: '$minutes', '$interval', '$needed'. They come from keel:backend.watch: npm run up -- ${s.stack} sets them again."`,
            "  exit 1",
            "fi",
            `if [ "$minutes" -eq 0 ]; then echo "No watch: keel:backend.watch.minutes is 0 for ${s.stack}."; exit 0; fi`,
            missing("backend", "BACKEND_HEALTH_URL"),
            ...(s.hasFrontend ? [missing("frontend", "FRONTEND_HEALTH_URL")] : []),
            `if [ -z "$BACKEND_HEALTH_URL${s.hasFrontend ? "$FRONTEND_HEALTH_URL" : ""}" ]; then echo "::warning::Nothing to watch."; exit 0; fi`,
            "probes=$(((minutes * 60 + interval - 1) / interval))",
            'log="$RUNNER_TEMP/watch.txt"',
            ': >"$log"',
            "probe() {",
            '  local what="$1" url="$2" code',
            '  if [ -z "$url" ]; then return 0; fi',
            '  code=$(curl --silent --location --max-time 10 --output /dev/null --write-out "%{http_code}" "$url") || true',
            '  if [ "${code:0:1}" != 2 ]; then problems+=("$what ($url) answered ${code:-nothing}"); fi',
            "}",
            `echo "Watching ${s.stack} for $minutes min: a probe every $interval s ($probes probes); $needed failed in a row roll it back."`,
            "failed=0",
            "for ((i = 1; i <= probes; i++)); do",
            '  sleep "$interval"',
            "  problems=()",
            ...probes,
            '  if [ "${#problems[@]}" -eq 0 ]; then',
            "    failed=0",
            '    echo "probe $i/$probes: healthy" | tee -a "$log"',
            "  else",
            "    failed=$((failed + 1))",
            '    summary=$(printf "%s; " "${problems[@]}")',
            '    echo "probe $i/$probes: ${summary%; } ($failed in a row)" | tee -a "$log"',
            '    if [ "$failed" -ge "$needed" ]; then break; fi',
            "  fi",
            "done",
            'if [ "$failed" -lt "$needed" ]; then',
            `  echo "${s.stack} stayed healthy through the watch."`,
            `  printf '### Watch: %s healthy\\n\\n%s probes in %s min, one every %s s; never %s failed in a row.\\n' "${s.stack}" "$probes" "$minutes" "$interval" "$needed" >>"$GITHUB_STEP_SUMMARY"`,
            "  exit 0",
            "fi",
            "",
            `echo "::error::${s.stack} failed $needed health probes in a row after deploying $COMMIT: rolling back to the previous successful version."`,
            'out="$RUNNER_TEMP/rollback.txt"',
            `if ${rollbackCommand(s.stack)} 2>&1 | tee "$out"; then`,
            "  recovered=$(grep -Eo 'recovered in [0-9.]+ s' \"$out\" | tail -n 1 || true)",
            '  result="rolled back to the previous successful version (${recovered:-the command succeeded})"',
            "else",
            "  status=$?",
            `  result="the rollback FAILED (exit $status): ${s.stack} may still run $COMMIT"`,
            "fi",
            'echo "Rollback: $result"',
            'logs="${BACKEND_LOGS:-the backend platform logs}"',
            "{",
            `  echo "The deploy of $COMMIT to ${s.stack} passed its health check, then failed $needed health probes in a row during the $minutes-minute watch (one every $interval s)."`,
            "  echo",
            '  echo "- Rollback: $result"',
            '  echo "- Failed version: commit $COMMIT (deploy run: $RUN_URL)"',
            '  echo "- Where to look: $logs"',
            `  echo "- Another version: the Rollback workflow ($ROLLBACK_URL, Run workflow from the ${s.branch} branch, stack ${s.stack}, a version or commit), or npm run rollback -- --stack ${s.stack} --to <version-or-commit> --yes; the versions: ${rollbackCommand(s.stack, "list")}"`,
            `  echo "- The ${s.branch} branch still holds $COMMIT: revert or fix it, or the next push deploys it again."`,
            "  echo",
            "  echo 'Probes:'",
            "  echo '```'",
            '  cat "$log"',
            "  echo '```'",
            "  echo",
            "  echo 'Rollback output (the end):'",
            "  echo '```'",
            '  tail -c 20000 "$out"',
            "  echo '```'",
            '} >"$RUNNER_TEMP/incident.md"',
            `gh label create incident --color B60205 --description "Keel monitor: a stack is unhealthy (open while it lasts)" --force || true`,
            // The monitor's issue: one open incident per stack, whoever found it first; the monitor closes it on recovery.
            `number=$(gh issue list --state open --label incident --limit 100 --json number,title --jq '.[] | select(.title == "${title}") | .number' | head -n 1) || number=""`,
            'if [ -n "$number" ]; then',
            '  issue=$(gh issue comment "$number" --body-file "$RUNNER_TEMP/incident.md") || issue=""',
            "else",
            `  issue=$(gh issue create --title "${title}" --label incident --body-file "$RUNNER_TEMP/incident.md") || issue=""`,
            "fi",
            'if [ -z "$issue" ]; then echo "::warning::Could not open or update the incident issue; its text is in the job summary."; fi',
            "{",
            `  echo "### Watch: ${s.stack} unhealthy, $result"`,
            "  echo",
            '  echo "Incident: ${issue:-not filed}"',
            "  echo",
            '  cat "$RUNNER_TEMP/incident.md"',
            '} >>"$GITHUB_STEP_SUMMARY"',
            ...notifyFunction(o, false),
            `notify ":rotating_light: ${s.stack}: the deploy of \${COMMIT:0:7} failed $needed health probes in a row; $result. \${issue:-$RUN_URL}" || echo "::warning::Could not post to Slack."`,
            `echo "::error::${s.stack} was unhealthy after the deploy: $result."`,
            "exit 1",
        ),
    };
}

/** On a failed deploy: the job summary names the button and the command. */
function deployFailedSummary(s: WorkflowStack, watched: boolean): Step {
    return {
        name: "How to roll back",
        if: "failure()",
        env: watched ? { ROLLBACK_URL, WATCH_OUTCOME: "${{ steps.watch.outcome }}" } : { ROLLBACK_URL },
        run: script(
            "{",
            `  echo '### The deploy of ${s.stack} failed'`,
            "  echo",
            ...(watched
                ? [
                      '  if [ "$WATCH_OUTCOME" = failure ]; then',
                      "    echo 'The watch found it unhealthy and ran the rollback: the summary above and the incident issue say how that went.'",
                      "    echo",
                      "  fi",
                  ]
                : []),
            "  echo 'To go back to the last good version:'",
            "  echo",
            `  echo "- the **Rollback** workflow: $ROLLBACK_URL (Run workflow from the \\\`${s.branch}\\\` branch, stack \\\`${s.stack}\\\`; an empty version is the previous successful one)"`,
            `  echo "- or: \\\`${rollbackCommand(s.stack)}\\\` (\\\`${rollbackCommand(s.stack, "list")}\\\` lists the versions; \\\`--to <version-or-commit> --yes\\\` picks one)"`,
            '} >>"$GITHUB_STEP_SUMMARY"',
        ),
    };
}
