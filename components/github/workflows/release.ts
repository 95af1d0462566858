/** release.yml: after a successful prod deploy, the next semantic version tagged and released. */
import { Workflow, WORKFLOW_NAMES, WorkflowOptions } from "./contract";
import { BASH, checkout, GH_ENV, NO_PERMISSIONS, RUNNER, script, workflow } from "./steps";

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
                    checkout({ ref: "${{ github.event.workflow_run.head_sha }}", "fetch-depth": 0 }),
                    {
                        name: "Tag and release the next version",
                        env: { ...GH_ENV, HEAD_SHA: "${{ github.event.workflow_run.head_sha }}" },
                        // Conventional commits since the last vX.Y.Z tag: a `!` after the type or a
                        // BREAKING CHANGE footer -> major, feat -> minor, fix/perf -> patch, else no release.
                        // The values are quoted: shellcheck reads `bump=patch` as running `patch` (SC2209).
                        run: script(
                            "last=$(git tag --merged \"$HEAD_SHA\" --list 'v*' --sort=-v:refname | grep -E '^v[0-9]+\\.[0-9]+\\.[0-9]+$' | head -n 1 || true)",
                            'if [ -n "$last" ]; then range="$last..$HEAD_SHA"; else range="$HEAD_SHA"; fi',
                            'subjects=$(git log --format=%s "$range")',
                            'bodies=$(git log --format=%B "$range")',
                            'if grep -Eq \'^[A-Za-z]+(\\([^)]*\\))?!:\' <<<"$subjects" || grep -Eq \'^BREAKING[ -]CHANGE:\' <<<"$bodies"; then bump="major"',
                            'elif grep -Eq \'^feat(\\([^)]*\\))?:\' <<<"$subjects"; then bump="minor"',
                            'elif grep -Eq \'^(fix|perf)(\\([^)]*\\))?:\' <<<"$subjects"; then bump="patch"',
                            'else bump="none"; fi',
                            'IFS=. read -r major minor patch <<<"${last#v}"',
                            "major=${major:-0} minor=${minor:-0} patch=${patch:-0}",
                            'case "$bump" in',
                            '  major) next="v$((major + 1)).0.0" ;;',
                            '  minor) next="v$major.$((minor + 1)).0" ;;',
                            '  patch) next="v$major.$minor.$((patch + 1))" ;;',
                            '  *) echo "No feat, fix, perf or breaking commit since ${last:-the first commit}: nothing to release."; exit 0 ;;',
                            "esac",
                            'if gh release view "$next" >/dev/null 2>&1; then echo "$next is already released."; exit 0; fi',
                            'echo "Releasing $next ($bump) at $HEAD_SHA, after ${last:-no earlier release}."',
                            'if [ -n "$last" ]; then',
                            '  gh release create "$next" --target "$HEAD_SHA" --title "$next" --generate-notes --notes-start-tag "$last"',
                            "else",
                            '  gh release create "$next" --target "$HEAD_SHA" --title "$next" --generate-notes',
                            "fi",
                        ),
                    },
                ],
            },
        },
    });
}
