/** Which repository Keel reports to: GITHUB_REPOSITORY (`owner/repo`, as Actions sets it) read with a clear error. */
import { GithubRepositoryError } from "./errors";

export interface GithubRepository {
    owner: string;
    repo: string;
}

/** GitHub's rules: an owner is letters, digits and single hyphens; a repository name is letters, digits, `-`, `_` and `.`. */
const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$/;
const REPO = /^[A-Za-z0-9._-]{1,100}$/;

/** Parses `owner/repo` (default: $GITHUB_REPOSITORY); throws GithubRepositoryError naming the value and the fix. */
export function parseGithubRepository(value: string | undefined = process.env.GITHUB_REPOSITORY): GithubRepository {
    const fix =
        "GitHub Actions sets GITHUB_REPOSITORY itself; elsewhere set it to the repository as owner/repo (e.g. GITHUB_REPOSITORY=acme/shop).";
    if (value === undefined || !value.trim()) throw new GithubRepositoryError(`GITHUB_REPOSITORY is not set. ${fix}`);
    const parts = value.trim().split("/");
    const [owner, repo] = parts;
    if (parts.length !== 2 || !OWNER.test(owner) || !REPO.test(repo) || repo === "." || repo === "..")
        throw new GithubRepositoryError(`GITHUB_REPOSITORY is ${JSON.stringify(value)}, not owner/repo. ${fix}`);
    return { owner, repo };
}
