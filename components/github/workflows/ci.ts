/** ci.yml: lint, typecheck, test on every pull request and push to the default branch. */
import { Job, Step, Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import { BASH, checkout, lintTools, NO_PERMISSIONS, npmCi, pulumiCli, RUNNER, script, setupNode, workflow } from "./steps";

export function ciWorkflow(o: WorkflowOptions): Workflow {
    const check = (
        name: string,
        command: string,
        minutes: number,
        before: Step[] = [],
        after: Step[] = [],
        env?: Record<string, string>,
    ): Job => ({
        name,
        "runs-on": RUNNER,
        permissions: { contents: "read" },
        "timeout-minutes": minutes,
        env,
        steps: [checkout(), setupNode(o, true), ...before, npmCi, ...after, { name: command, run: `${command}\n` }],
    });
    return workflow({
        name: WORKFLOW_NAMES.ci,
        on: { pull_request: {}, push: { branches: [o.defaultBranch] } },
        permissions: NO_PERMISSIONS,
        concurrency: { group: "${{ github.workflow }}-${{ github.ref }}", "cancel-in-progress": true },
        defaults: BASH,
        jobs: {
            lint: check("lint", "npm run lint", 10),
            typecheck: check("typecheck", "npm run typecheck", 10),
            test: check(
                "test",
                "npm test",
                45,
                [
                    {
                        name: "Install PostgreSQL 15 server binaries",
                        // Ubuntu 24.04 runners ship PostgreSQL 16 only: add the PostgreSQL project's apt
                        // repository (postgresql-common's helper) and install 15; PG_BIN points the tests at it.
                        run: script(
                            "sudo /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y",
                            "sudo apt-get install -y --no-install-recommends postgresql-15",
                            '"$PG_BIN/initdb" --version',
                        ),
                    },
                ],
                // The end-to-end tests run the pinned CLI; the workflow tests lint with actionlint and shellcheck.
                [...pulumiCli(o), lintTools],
                { PG_BIN: "/usr/lib/postgresql/15/bin" },
            ),
        },
    });
}
