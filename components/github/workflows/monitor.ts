/** monitor.yml: every 5 minutes the stacks' health URLs; Slack once per incident and once on recovery. */
import { incidentTitle, monitorVariable, Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import {
    BASH,
    byStack,
    GH_ENV,
    NO_PERMISSIONS,
    notifyFunction,
    rollbackHint,
    ROLLBACK_URL,
    RUN_URL,
    RUNNER,
    script,
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
            const env: Record<string, string> = { ...GH_ENV, RUN_URL };
            const checks: string[] = [];
            if (s.hasBackend) {
                env.BACKEND_HEALTH_URL = `\${{ vars.${monitorVariable(s.stack, "BACKEND_HEALTH_URL")} }}`;
                checks.push('check backend BACKEND_HEALTH_URL "$BACKEND_HEALTH_URL"');
            }
            if (s.hasFrontend) {
                env.FRONTEND_HEALTH_URL = `\${{ vars.${monitorVariable(s.stack, "FRONTEND_HEALTH_URL")} }}`;
                checks.push('check frontend FRONTEND_HEALTH_URL "$FRONTEND_HEALTH_URL"');
            }
            if (o.slack) env.SLACK_WEBHOOK_URL = "${{ secrets.SLACK_WEBHOOK_URL }}";
            env.ROLLBACK_URL = ROLLBACK_URL;
            const title = incidentTitle(s.stack);
            const notify = notifyFunction(o, true);
            // The alert names the button and the command.
            const rollback = rollbackHint(s, "$ROLLBACK_URL");
            return {
                name: `monitor (${s.stack})`,
                "runs-on": RUNNER,
                // No environment: a required reviewer would hold a check that runs every 5 minutes.
                // The URLs are repository variables per stack and the webhook a repository secret.
                permissions: { issues: "write" },
                concurrency: { group: `monitor-${s.stack}`, "cancel-in-progress": false },
                "timeout-minutes": 5,
                steps: [
                    {
                        name: "Check health, alert once per incident",
                        env,
                        // The incident's state is an open issue labelled `incident`: while it is open no new
                        // alert is posted; the first healthy check posts the recovery and closes it.
                        run: script(
                            "problems=()",
                            "check() {",
                            '  local what="$1" variable="$2" url="$3" code',
                            `  if [ -z "$url" ]; then echo "::error::The ${s.environment} environment has no $variable variable. Set it under Settings > Environments > ${s.environment}."; exit 1; fi`,
                            '  code=$(curl --fail --silent --location --max-time 10 --retry 2 --retry-delay 5 --retry-all-errors --output /dev/null --write-out "%{http_code}" "$url") || true',
                            '  if [ "${code:0:1}" != 2 ]; then problems+=("$what ($url) answered ${code:-nothing}"); fi',
                            "}",
                            ...notify,
                            ...checks,
                            `title="${title}"`,
                            `number=$(gh issue list --state open --label incident --limit 100 --json number,title --jq '.[] | select(.title == "${title}") | .number' | head -n 1)`,
                            'if [ "${#problems[@]}" -gt 0 ]; then',
                            '  summary=$(printf "%s; " "${problems[@]}")',
                            '  echo "::error::${summary%; }"',
                            '  if [ -n "$number" ]; then',
                            '    echo "Incident #$number is already open: no new alert."',
                            "  else",
                            `    notify ":red_circle: ${s.stack} is unhealthy: \${summary%; } ($RUN_URL). ${rollback}"`,
                            `    gh label create incident --color B60205 --description "Keel monitor: a stack is unhealthy (open while it lasts)" --force`,
                            `    gh issue create --title "$title" --label incident --body "The monitor found: \${summary%; }. First seen: $RUN_URL. ${rollback}. This issue closes itself when the checks pass again."`,
                            "  fi",
                            'elif [ -n "$number" ]; then',
                            `  notify ":large_green_circle: ${s.stack} has recovered ($RUN_URL)"`,
                            '  gh issue close "$number" --comment "Recovered: every check answered 2xx. $RUN_URL"',
                            "else",
                            '  echo "Healthy."',
                            "fi",
                        ),
                    },
                ],
            };
        }),
    });
}
