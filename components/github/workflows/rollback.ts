/** rollback.yml: the button, `npm run rollback` of a chosen stack to its previous (or a given) version. */
import { SLACK_WEBHOOK_VARIABLE } from "../../operations/slack";
import { DEPLOYMENTS_TOKEN_VARIABLE, ENVIRONMENT_VARIABLE, TRIGGER_VARIABLE } from "../../operations/stepEnv";
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import {
    BASH,
    byStack,
    DEPLOY_MINUTES,
    deployGroup,
    JOB_ENV,
    NO_PERMISSIONS,
    pulumiSetup,
    RUN_URL,
    RUNNER,
    script,
    stackSecrets,
    workflow,
} from "./steps";

export function rollbackWorkflow(o: WorkflowOptions): Workflow {
    const stacks = o.stacks.map((s) => s.stack);
    const branches = o.stacks.map((s) => `${s.stack}) branch=${s.branch} ;;`);
    return workflow({
        name: WORKFLOW_NAMES.rollback,
        on: {
            workflow_dispatch: {
                inputs: {
                    stack: {
                        description: "The stack to roll back (run the workflow from its branch)",
                        required: true,
                        type: "choice",
                        options: stacks,
                        default: o.stacks.find((s) => s.stage === "prod")?.stack ?? stacks[0],
                    },
                    version: {
                        description:
                            "The Pulumi stack version or git commit to go back to; empty: the last successful version before the current one",
                        required: false,
                        type: "string",
                        default: "",
                    },
                    "with-data": {
                        description: "Also restore the database from the backup taken with that version (needs a version)",
                        required: false,
                        type: "boolean",
                        default: false,
                    },
                },
            },
        },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: {
            // Before any environment (and its reviewers): the inputs and the branch, every problem named.
            check: {
                name: "check the inputs",
                "runs-on": RUNNER,
                permissions: {},
                "timeout-minutes": 5,
                steps: [
                    {
                        name: "Check the stack, its branch, the version",
                        env: {
                            STACK: "${{ inputs.stack }}",
                            VERSION: "${{ inputs.version }}",
                            WITH_DATA: "${{ inputs.with-data }}",
                            REF: "${{ github.ref }}",
                        },
                        // The stacks' arms on one line: the script stays this short however many stacks there are.
                        run: script(
                            "ok=true",
                            'case "$STACK" in',
                            `  ${branches.join(" ")}`,
                            `  *) echo "::error::The stack must be one this repository deploys: ${stacks.join(", ")}."; exit 1 ;;`,
                            "esac",
                            `[ "$REF" = "refs/heads/$branch" ] || { echo "::error::The $STACK stack deploys from the $branch branch and its environment takes runs from there only: run the Rollback workflow again with 'Use workflow from: $branch'."; ok=false; }`,
                            `if [ -n "$VERSION" ] && ! [[ "$VERSION" =~ ^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$ ]]; then echo "::error::The version must be a Pulumi stack version (a number) or a git commit, tag or branch (letters, digits, '.', '_', '-'), at most 100 characters."; ok=false; fi`,
                            'if [ "$WITH_DATA" = true ] && [ -z "$VERSION" ]; then echo "::error::with-data restores the database from the backup of a named version: give the version too (the list: npm run rollback -- --stack $STACK)."; ok=false; fi',
                            '"$ok"',
                        ),
                    },
                ],
            },
            ...byStack(o, "rollback", (s) => ({
                name: `rollback (${s.stack})`,
                needs: ["check"],
                if: `inputs.stack == '${s.stack}'`,
                "runs-on": RUNNER,
                environment: s.environment,
                // The rollback sets the environment's deployment status to the version it put back.
                permissions: { contents: "read", deployments: "write" },
                // Never beside a deploy of the same stack.
                concurrency: { group: deployGroup(s), "cancel-in-progress": false },
                "timeout-minutes": DEPLOY_MINUTES,
                env: JOB_ENV,
                steps: [
                    // The whole history: the program of an earlier commit is run.
                    ...pulumiSetup(o, s, { "fetch-depth": 0 }),
                    {
                        name: `npm run rollback -- --stack ${s.stack}`,
                        id: "rollback",
                        env: {
                            ...stackSecrets(o),
                            VERSION: "${{ inputs.version }}",
                            WITH_DATA: "${{ inputs.with-data }}",
                            // Its record and notice: by the button, to the environment's deployment status and Slack.
                            [TRIGGER_VARIABLE]: "button",
                            [ENVIRONMENT_VARIABLE]: s.environment,
                            [DEPLOYMENTS_TOKEN_VARIABLE]: "${{ github.token }}",
                            ...(o.slack ? { [SLACK_WEBHOOK_VARIABLE]: `\${{ secrets.${SLACK_WEBHOOK_VARIABLE} }}` } : {}),
                        },
                        // The inputs are arguments of their own, never part of the script's text.
                        run: script(
                            `args=(--stack ${s.stack})`,
                            'if [ -n "$VERSION" ]; then args+=(--to "$VERSION"); else args+=(--previous); fi',
                            "args+=(--yes)",
                            'if [ "$WITH_DATA" = true ]; then args+=(--with-data); fi',
                            'echo "npm run rollback -- ${args[*]}"',
                            'npm run rollback -- "${args[@]}" 2>&1 | tee "$RUNNER_TEMP/rollback.txt"',
                        ),
                    },
                    {
                        name: "Summary",
                        if: "always()",
                        env: {
                            OUTCOME: "${{ steps.rollback.outcome }}",
                            VERSION: "${{ inputs.version }}",
                            WITH_DATA: "${{ inputs.with-data }}",
                            RUN_URL,
                        },
                        run: script(
                            'out="$RUNNER_TEMP/rollback.txt"',
                            "recovered=$(grep -Eo 'recovered in [0-9.]+ s' \"$out\" 2>/dev/null | tail -n 1 || true)",
                            'if [ -n "$VERSION" ]; then target="version or commit $VERSION"; else target="the previous successful version"; fi',
                            'case "$OUTCOME" in',
                            `  success) headline="Rollback of ${s.stack}: succeeded\${recovered:+, $recovered}" ;;`,
                            `  failure) headline="Rollback of ${s.stack}: FAILED" ;;`,
                            `  *) headline="Rollback of ${s.stack}: not run ($OUTCOME)" ;;`,
                            "esac",
                            `printf '### %s\\n\\n- To: %s\\n- With data: %s\\n- Run: %s\\n' "$headline" "$target" "\${WITH_DATA:-false}" "$RUN_URL" >>"$GITHUB_STEP_SUMMARY"`,
                            'if [ -s "$out" ]; then { printf \'\\n```\\n\'; tail -c 60000 "$out"; echo \'```\'; } >>"$GITHUB_STEP_SUMMARY"; fi',
                        ),
                    },
                ],
            })),
        },
    });
}
