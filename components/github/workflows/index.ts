/**
 * The repository's GitHub Actions workflows, generated from the stack config as
 * typed objects and serialized with the `yaml` package (stable: the same options
 * give byte-identical text). The Repository component commits them; nothing here
 * imports Pulumi.
 *
 *   ci.yml       lint, typecheck, test on every pull request and push to the default branch
 *   preview.yml  `pulumi preview --diff` of the stack a pull request targets, posted as a PR comment
 *   deploy.yml   `pulumi up` of the stack whose branch was pushed, behind its environment, then a health check,
 *                then (keel:backend.watch) the health URLs watched for minutes: consecutive failures roll back; last,
 *                whatever happened, `./keel deploy report`: the outcome to the summary, Slack and the deployment status
 *   rollback.yml the button: `npm run rollback` of a chosen stack to its previous (or a given) version
 *   drift.yml    daily `npm run drift -- --stack <stack>` (a refresh preview: changes outside Keel, schema drift, pending
 *                migrations) and `npm run preview -- <stack> --refresh --expect-no-changes` per stack; one issue per
 *                drifting stack, listing the drifted objects
 *   monitor.yml  every 5 minutes: the stack's health URLs; Slack once per incident and once on recovery
 *   release.yml  after a successful prod deploy: the next semantic version from conventional commits, tagged and released
 *   drill.yml    monthly (the 1st, 06:00 UTC) and on demand, per stack: `./keel db drill` (a fresh backup restored into a
 *                scratch database; on Neon the newest snapshot branch too), on staging also `./keel rollback drill` (back
 *                to the previous version and forward again); the result to the summary and Slack, a failure to one issue
 *                per stack (`./keel issue drill`)
 *   metrics.yml  Mondays 07:00 UTC and on demand: `./keel metrics --since 7d` to the job summary and Slack
 *   previews.yml only with keel:previews.enabled (options.previews): a preview stack per pull request (`npm run pr:up`,
 *                its one PR comment by `npm run pr:comment`), removed when the pull request closes (`npm run pr:down`)
 *                and nightly what is left or expired (`npm run pr:reap`); in the `preview` environment, never for forks
 *
 * One file per workflow here, the steps they share in steps.ts. A step's logic longer
 * than a few lines is a keel command the step calls from the checkout, after npm ci
 * (components/operations: `./keel deploy watch`, `./keel deploy report`, `./keel monitor
 * check`, `./keel issue drift`), with the step's env as its input. Bash stays only where
 * npm ci may not have run: rollback.yml's input check and summary, release.yml.
 *
 * Choices worth knowing:
 * - Runners are `ubuntu-latest` (today Ubuntu 24.04).
 * - The tests need PostgreSQL 15 server binaries (README). Ubuntu 24.04 runners ship
 *   PostgreSQL 16 only, from Ubuntu's archive, so the test job adds the PostgreSQL
 *   project's apt repository with the helper script that the preinstalled
 *   `postgresql-common` package provides, installs `postgresql-15` and points the
 *   test harness at it with `PG_BIN` (the runner user is not root, so the harness
 *   runs the cluster as that user).
 * - Pulumi's CLI is the version tools/pulumi/go.mod pins (`pulumiVersion`, read by
 *   components/pulumiVersion.ts), the one `npm run pulumi:build` builds: pulumi/actions
 *   installs that release (install-only: no command) and puts it first on PATH, where
 *   Keel's npm scripts look first (scripts/lib/pulumiCli.ts); a step then checks that
 *   `npm run pulumi -- version` answers exactly it. The test job gets it too (the
 *   end-to-end tests), with the workflow linters (actionlint, shellcheck).
 * - Secrets reach only the steps that need them, through `env:` mapped from
 *   `${{ secrets.X }}`; repository and environment variables (`vars.X`) go through
 *   `env:` too, so no run script contains an expression at all.
 * - Every stack job (preview, deploy, rollback, drift) names the stack's GitHub
 *   environment, because that is where its secrets and variables live. A reviewer
 *   rule on that environment therefore gates those jobs too (for a preview that is
 *   intended: it runs the pull request's program with the stack's credentials).
 * - What only a stack knows about itself (its watch settings, where its logs are) is
 *   a variable of its own environment, set by its own `pulumi up` (WATCH_VARIABLES,
 *   LOGS_VARIABLE), read at run time: the owner stack, which commits these files,
 *   cannot read the other stacks' config.
 */
import { ciWorkflow } from "./ci";
import { GeneratedWorkflow, PREVIEWS_FILE, ROLLBACK_FILE, Workflow, WorkflowOptions } from "./contract";
import { deployWorkflow } from "./deploy";
import { DRILL_FILE, drillWorkflow } from "./drill";
import { driftWorkflow } from "./drift";
import { metricsWorkflow } from "./metrics";
import { monitorWorkflow } from "./monitor";
import { previewWorkflow } from "./preview";
import { previewsWorkflow } from "./previews";
import { releaseWorkflow } from "./release";
import { rollbackWorkflow } from "./rollback";
import { normalize } from "./validate";
import { toYaml } from "./yaml";

export * from "./contract";
export { PREVIEW_SUMMARY_FILE, REAP_CRON } from "./previews";
export { rollbackCommand } from "./steps";
export { HEADER, toYaml } from "./yaml";

/** ci, preview, deploy, rollback, drift, monitor, release, drill, metrics, in that order; then previews when options.previews is set. */
export function generateWorkflows(options: WorkflowOptions): GeneratedWorkflow[] {
    const o = normalize(options);
    const files: [string, Workflow][] = [
        ["ci.yml", ciWorkflow(o)],
        ["preview.yml", previewWorkflow(o)],
        ["deploy.yml", deployWorkflow(o)],
        [ROLLBACK_FILE, rollbackWorkflow(o)],
        ["drift.yml", driftWorkflow(o)],
        ["monitor.yml", monitorWorkflow(o)],
        ["release.yml", releaseWorkflow(o)],
        [DRILL_FILE, drillWorkflow(o)],
        ["metrics.yml", metricsWorkflow(o)],
        ...(o.previews ? [[PREVIEWS_FILE, previewsWorkflow(o, o.previews)] as [string, Workflow]] : []),
    ];
    return files.map(([file, workflow]) => ({
        path: `.github/workflows/${file}`,
        name: workflow.name,
        content: toYaml(workflow),
        jobNames: Object.values(workflow.jobs).map((job) => job.name),
    }));
}

/** The status check contexts branch protection must require: exactly the `name:` of each job in ci.yml (what GitHub reports as the check name). */
export function requiredStatusChecks(options: WorkflowOptions): string[] {
    return Object.values(ciWorkflow(normalize(options)).jobs).map((job) => job.name);
}
