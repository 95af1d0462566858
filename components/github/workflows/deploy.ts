/** deploy.yml: `pulumi up` of the stack whose branch was pushed, a health check, then the watch. */
import { SLACK_WEBHOOK_VARIABLE } from "../../operations/slack";
import { DEPLOYMENTS_TOKEN_VARIABLE, STEP_ENV, STEP_OUTCOME_VARIABLES, TRIGGER_VARIABLE } from "../../operations/stepEnv";
import { LOGS_VARIABLE, Step, WATCH_VARIABLES, Workflow, WORKFLOW_NAMES, WorkflowOptions, WorkflowStack } from "./contract";
import {
    BASH,
    byStack,
    DEPLOY_MINUTES,
    deployGroup,
    GH_ENV,
    healthInputs,
    keelRun,
    JOB_ENV,
    NO_PERMISSIONS,
    pulumiSetup,
    ROLLBACK_URL,
    RUN_URL,
    RUNNER,
    script,
    shellWord,
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
                { name: "Preflight", id: "preflight", env: stackSecrets(o), run: `npm run preflight -- --stack ${s.stack}\n` },
                {
                    // Keel's program inline through the engine (no type check per run), the state from PULUMI_BACKEND_URL.
                    name: `npm run up -- ${s.stack}`,
                    id: "up",
                    "timeout-minutes": DEPLOY_MINUTES,
                    env: stackSecrets(o),
                    run: `npm run up -- ${s.stack} --yes --policy-pack ${o.policyPack}\n`,
                },
            ];
            if (s.hasBackend) {
                steps.push({
                    name: "Health check",
                    id: "health",
                    env: { HEALTH_URL: "${{ vars.BACKEND_HEALTH_URL }}" },
                    run: script(
                        `if [ -z "$HEALTH_URL" ]; then echo "::error::The ${s.environment} environment has no BACKEND_HEALTH_URL variable. Set it (pulumi stack output backendHealthUrl --stack ${s.stack}) under Settings > Environments > ${s.environment}."; exit 1; fi`,
                        'curl --fail --silent --show-error --location --max-time 10 --retry 12 --retry-delay 5 --retry-all-errors --output /dev/null --write-out "%{http_code} from %{url_effective}\\n" "$HEALTH_URL"',
                    ),
                });
            }
            if (watched) steps.push(watchStep(o, s));
            steps.push(reportStep(o, s, watched));
            return {
                name: `deploy (${s.stack})`,
                if: `github.ref == 'refs/heads/${s.branch}'`,
                "runs-on": RUNNER,
                environment: s.environment,
                // The watch opens or updates the incident issue; the report sets the environment's deployment status.
                permissions: watched
                    ? { contents: "read", deployments: "write", issues: "write" }
                    : { contents: "read", deployments: "write" },
                concurrency: { group: deployGroup(s), "cancel-in-progress": false },
                "timeout-minutes": watched ? DEPLOY_MINUTES + WATCH_STEP_MINUTES : DEPLOY_MINUTES,
                env: JOB_ENV,
                steps,
            };
        }),
    });
}

/**
 * After `pulumi up` and the health check: `keel deploy watch` (components/operations/deployWatch.ts)
 * probes the stack's health URLs (the monitor's) for the watch's minutes; failed probes in a row
 * roll back, file the incident, post to Slack and fail the job. Its settings come from the
 * stack's environment (WATCH_VARIABLES).
 */
function watchStep(o: WorkflowOptions, s: WorkflowStack): Step {
    const env: Record<string, string> = {
        // The rollback is a Pulumi update: the same credentials as the deploy.
        ...stackSecrets(o),
        ...GH_ENV,
        [STEP_ENV.runUrl]: RUN_URL,
        [STEP_ENV.rollbackUrl]: ROLLBACK_URL,
        [STEP_ENV.commit]: "${{ github.sha }}",
        [STEP_ENV.watchMinutes]: `\${{ vars.${WATCH_VARIABLES.minutes} }}`,
        [STEP_ENV.watchIntervalSeconds]: `\${{ vars.${WATCH_VARIABLES.intervalSeconds} }}`,
        [STEP_ENV.watchFailures]: `\${{ vars.${WATCH_VARIABLES.failures} }}`,
        [STEP_ENV.backendLogs]: `\${{ vars.${LOGS_VARIABLE} }}`,
    };
    // The watch probes the monitor's URLs; the report step posts, so the watch gets no webhook.
    const health = healthInputs({ ...o, slack: false }, s);
    Object.assign(env, health.env);
    // Its rollback is recorded as the watch's.
    env[TRIGGER_VARIABLE] = "watch";
    const args = ["deploy", "watch", "--stack", s.stack, "--environment", shellWord(s.environment), "--branch", s.branch, ...health.flags];
    return {
        name: "Watch the health URLs, roll back when they fail",
        id: "watch",
        // Unset (before the stack's first deploy with a watch) or 0: no watch.
        if: `vars.${WATCH_VARIABLES.minutes} > 0`,
        "timeout-minutes": WATCH_STEP_MINUTES,
        env,
        run: keelRun(...args),
    };
}

/**
 * The last step, whatever happened: `keel deploy report` (scripts/deployReport.ts) says once what
 * the deploy did, from the steps' outcomes, the stack history and Keel's records: to the job
 * summary, to Slack, and as the environment's deployment status (the Environments page).
 */
function reportStep(o: WorkflowOptions, s: WorkflowStack, watched: boolean): Step {
    const env: Record<string, string> = {
        // It reads the stack history and Keel's records: the state's credentials.
        ...stackSecrets(o),
        [STEP_ENV.runUrl]: RUN_URL,
        [STEP_ENV.rollbackUrl]: ROLLBACK_URL,
        [STEP_ENV.commit]: "${{ github.sha }}",
        [DEPLOYMENTS_TOKEN_VARIABLE]: "${{ github.token }}",
        [STEP_OUTCOME_VARIABLES.preflight]: "${{ steps.preflight.outcome }}",
        [STEP_OUTCOME_VARIABLES.up]: "${{ steps.up.outcome }}",
    };
    if (s.hasBackend) env[STEP_OUTCOME_VARIABLES.health] = "${{ steps.health.outcome }}";
    if (watched) env[STEP_OUTCOME_VARIABLES.watch] = "${{ steps.watch.outcome }}";
    const args = ["deploy", "report", "--stack", s.stack, "--environment", shellWord(s.environment)];
    if (o.slack) {
        env[SLACK_WEBHOOK_VARIABLE] = `\${{ secrets.${SLACK_WEBHOOK_VARIABLE} }}`;
        args.push("--slack");
    }
    return { name: "Report the deploy", if: "always()", env, run: keelRun(...args) };
}
