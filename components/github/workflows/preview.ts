/** preview.yml: `pulumi preview --diff` of the stack a pull request targets, posted as a PR comment. */
import { ACTIONS, usesRef } from "../actions";
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import { BASH, byStack, JOB_ENV, NO_PERMISSIONS, pulumiSetup, RUNNER, stackSecrets, workflow } from "./steps";

export function previewWorkflow(o: WorkflowOptions): Workflow {
    return workflow({
        name: WORKFLOW_NAMES.preview,
        on: { pull_request: { branches: o.stacks.map((s) => s.branch) } },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: byStack(o, "preview", (s) => ({
            name: `preview (${s.stack})`,
            // Only the stack the pull request targets; pull requests from forks get no secrets, so they are skipped.
            if: `github.base_ref == '${s.branch}' && github.event.pull_request.head.repo.full_name == github.repository`,
            "runs-on": RUNNER,
            environment: s.environment,
            permissions: { contents: "read", "pull-requests": "write" },
            concurrency: { group: `preview-${s.stack}-\${{ github.event.pull_request.number }}`, "cancel-in-progress": true },
            "timeout-minutes": 30,
            env: JOB_ENV,
            steps: [
                ...pulumiSetup(o, s),
                {
                    name: `pulumi preview --stack ${s.stack}`,
                    uses: usesRef(ACTIONS.pulumi),
                    with: {
                        command: "preview",
                        "stack-name": s.stack,
                        // Installed above already: the action keeps it.
                        "pulumi-version": o.pulumiVersion,
                        policyPacks: o.policyPack,
                        diff: true,
                        "comment-on-pr": true,
                        "edit-pr-comment": true,
                        "github-token": "${{ github.token }}",
                    },
                    env: stackSecrets(o),
                },
            ],
        })),
    });
}
