/** release.yml: after a successful prod deploy, the next semantic version tagged and released. */
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import { BASH, checkout, GH_ENV, keelRun, NO_PERMISSIONS, npmCi, RUNNER, setupNode, workflow } from "./steps";

export function releaseWorkflow(o: WorkflowOptions): Workflow {
    // The prod stack's branch (at most one, see normalize); without a prod stack, the default branch.
    const branch = o.stacks.find((s) => s.stage === "prod")?.branch ?? o.defaultBranch;
    return workflow({
        name: WORKFLOW_NAMES.release,
        on: { workflow_run: { workflows: [WORKFLOW_NAMES.deploy], types: ["completed"], branches: [branch] } },
        permissions: NO_PERMISSIONS,
        concurrency: { group: "release", "cancel-in-progress": false },
        defaults: BASH,
        jobs: {
            release: {
                name: "release",
                if: `github.event.workflow_run.conclusion == 'success' && github.event.workflow_run.event == 'push'`,
                "runs-on": RUNNER,
                permissions: { contents: "write" },
                "timeout-minutes": 10,
                steps: [
                    // The whole history: the tags and the commits since the last release.
                    checkout({ ref: "${{ github.event.workflow_run.head_sha }}", "fetch-depth": 0 }),
                    // No npm cache: a token that may write the repository is around (a cache is shared with other runs).
                    setupNode(o, false),
                    npmCi,
                    {
                        // The version from the conventional commits since the last vX.Y.Z tag (components/operations/release.ts).
                        name: "Tag and release the next version",
                        env: { ...GH_ENV, HEAD_SHA: "${{ github.event.workflow_run.head_sha }}" },
                        run: keelRun("release", "next", "--target", '"$HEAD_SHA"'),
                    },
                ],
            },
        },
    });
}
