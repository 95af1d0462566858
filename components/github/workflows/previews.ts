/**
 * previews.yml (only with keel:previews.enabled on the base stack): a preview stack per pull request.
 *
 *   opened, synchronize, reopened  `npm run pr:up` (the stack pr-<n> from the base, the PR's head branch), which writes
 *                                  its summary; then `npm run pr:comment` edits the PR's one preview comment from it
 *   closed                         `npm run pr:down` (with the default branch's code: the PR's may be gone, and is not needed)
 *   nightly, and on demand         `npm run pr:reap`: what belongs to closed pull requests, and expired previews, removed
 *
 * Every job runs in the `preview` environment: the previews' own state credentials and vendor tokens, never a
 * deploying stack's. Pull requests from forks never run (GitHub gives them no secrets anyway, and a preview runs the
 * pull request's program with these). A pull request's jobs share one concurrency group and never cancel each other:
 * a `down` is never cut short, and of several pushes only the newest waiting one runs.
 */
import { PREVIEWS_ENVIRONMENT, type PreviewsOptions, type Step, type Workflow, WORKFLOW_NAMES, type WorkflowOptions } from "./contract";
import {
    BASH,
    checkout,
    DEPLOY_MINUTES,
    GH_ENV,
    JOB_ENV,
    NO_PERMISSIONS,
    npmCi,
    policyPackDeps,
    pulumiCli,
    pulumiSetup,
    RUNNER,
    script,
    setupNode,
    shellWord,
    type StackEnvironment,
    stackSecrets,
    stateCheck,
    workflow,
} from "./steps";

/** Where `pr:up` writes its summary (components/previews/summary.ts) for `pr:comment`, under RUNNER_TEMP. */
export const PREVIEW_SUMMARY_FILE = "keel-preview.json";

/** Nightly, off the hour (02:43 UTC): `pr:reap`. */
export const REAP_CRON = "43 2 * * *";

/** Only pull requests of the repository itself: a fork's would run its own program with the previews' credentials. */
const SAME_REPOSITORY = "github.event.pull_request.head.repo.full_name == github.repository";

/** The pull request's number, as env (never as script text). */
const PR_ENV = { PR: "${{ github.event.pull_request.number }}" };

const SUMMARY = `"$RUNNER_TEMP/${PREVIEW_SUMMARY_FILE}"`;

export function previewsWorkflow(o: WorkflowOptions, p: PreviewsOptions): Workflow {
    // The setup steps' messages name the environment the credentials are missing from.
    const where: StackEnvironment = { stack: "preview", environment: PREVIEWS_ENVIRONMENT };
    const perPr = { group: "previews-pr-${{ github.event.pull_request.number }}", "cancel-in-progress": false };
    const days = `${p.ttlDays} day${p.ttlDays === 1 ? "" : "s"}`;
    // The closed pull request's merge ref may be gone (and its code is not needed): pr:down runs the default branch's.
    const defaultBranchSetup = (): Step[] => [
        checkout({ ref: "${{ github.event.repository.default_branch }}" }),
        setupNode(o, false),
        npmCi,
        ...pulumiCli(o),
        policyPackDeps(o),
        stateCheck(o, where),
    ];
    return workflow({
        name: WORKFLOW_NAMES.previews,
        on: {
            pull_request: { types: ["opened", "synchronize", "reopened", "closed"] },
            schedule: [{ cron: REAP_CRON }],
            workflow_dispatch: {},
        },
        permissions: NO_PERMISSIONS,
        defaults: BASH,
        jobs: {
            up: {
                name: "preview up",
                if: `github.event_name == 'pull_request' && github.event.action != 'closed' && ${SAME_REPOSITORY}`,
                "runs-on": RUNNER,
                environment: PREVIEWS_ENVIRONMENT,
                // pull-requests: write for the comment; the preview's GitHub environment is made with the environment's admin token.
                permissions: { contents: "read", "pull-requests": "write" },
                concurrency: perPr,
                "timeout-minutes": DEPLOY_MINUTES,
                env: JOB_ENV,
                // The pull request's head, as Vercel builds its branch (its merge ref is missing while it has conflicts).
                steps: [
                    ...pulumiSetup(o, where, { ref: "${{ github.event.pull_request.head.sha }}" }),
                    {
                        name: `npm run pr:up (from ${p.base}, kept ${days} after the last push)`,
                        env: {
                            ...stackSecrets(o),
                            ...PR_ENV,
                            HEAD_REF: "${{ github.head_ref }}",
                            // A fork is refused by pr:up too, should this job's condition ever let one through.
                            HEAD_REPO: "${{ github.event.pull_request.head.repo.full_name }}",
                            KEEL_PR_HEAD_SHA: "${{ github.event.pull_request.head.sha }}",
                        },
                        run: script(
                            `npm run pr:up -- --pr "$PR" --from ${shellWord(p.base)} --branch "$HEAD_REF" --head-repo "$HEAD_REPO" --summary ${SUMMARY}`,
                        ),
                    },
                    {
                        // The job's own token: it may write this pull request's comments and nothing of the previews'.
                        name: "npm run pr:comment (the pull request's one preview comment, edited in place)",
                        env: { GITHUB_TOKEN: "${{ github.token }}", ...PR_ENV },
                        run: script(`npm run pr:comment -- --pr "$PR" --summary ${SUMMARY}`),
                    },
                ],
            },
            down: {
                name: "preview down",
                if: `github.event_name == 'pull_request' && github.event.action == 'closed' && ${SAME_REPOSITORY}`,
                "runs-on": RUNNER,
                environment: PREVIEWS_ENVIRONMENT,
                permissions: { contents: "read" },
                concurrency: perPr,
                "timeout-minutes": DEPLOY_MINUTES,
                env: JOB_ENV,
                steps: [
                    ...defaultBranchSetup(),
                    {
                        name: "npm run pr:down",
                        env: { ...stackSecrets(o), ...PR_ENV },
                        run: script(`npm run pr:down -- --pr "$PR" --from ${shellWord(p.base)}`),
                    },
                ],
            },
            reap: {
                name: "reap previews",
                if: "github.event_name == 'schedule' || github.event_name == 'workflow_dispatch'",
                "runs-on": RUNNER,
                environment: PREVIEWS_ENVIRONMENT,
                // pull-requests: read to list the open pull requests, whose previews stay (unless expired).
                permissions: { contents: "read", "pull-requests": "read" },
                concurrency: { group: "previews-reap", "cancel-in-progress": false },
                "timeout-minutes": 2 * DEPLOY_MINUTES,
                env: JOB_ENV,
                // The schedule runs the default branch's code; a dispatch, the branch it was started on.
                steps: [
                    ...pulumiSetup(o, where),
                    {
                        name: "List the open pull requests",
                        id: "open",
                        env: GH_ENV,
                        run: script(
                            // "none" when no pull request is open: an empty list is refused, so a failed lookup never reaps them all.
                            'open=$(gh pr list --state open --limit 1000 --json number --jq \'if length == 0 then "none" else map(.number) | join(",") end\')',
                            'echo "open=$open" >> "$GITHUB_OUTPUT"',
                        ),
                    },
                    {
                        name: "npm run pr:reap (closed pull requests' and expired previews)",
                        env: { ...stackSecrets(o), OPEN: "${{ steps.open.outputs.open }}" },
                        run: script(`npm run pr:reap -- --from ${shellWord(p.base)} --open "$OPEN" --yes`),
                    },
                ],
            },
        },
    });
}
