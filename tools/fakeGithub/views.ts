/** The fake GitHub API's answers in the shapes of @octokit/openapi's api.github.com.json: deployments, statuses, users, errors. */
import type { FakeGithubDeployment, FakeGithubEnvironment, FakeGithubStatus } from "./types";

export const DOCS = "https://docs.github.com/rest";

/** GitHub's timestamps: whole seconds, Z. */
export function iso(ms: number): string {
    return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** A GraphQL-style node id, as GitHub gives every object (opaque to clients). */
function nodeId(kind: string, id: number): string {
    return Buffer.from(`0${kind.length}:${kind}${id}`).toString("base64");
}

/** A stable numeric id for a login, so the same creator always reads the same. */
function userId(login: string): number {
    let h = 7;
    for (const c of login) h = (h * 31 + c.charCodeAt(0)) % 2_000_000_000;
    return h + 1;
}

/** simple-user (what `creator` holds). */
export function userView(api: string, login: string): unknown {
    const url = `${api}/users/${encodeURIComponent(login)}`;
    const bot = login.endsWith("[bot]");
    return {
        login,
        id: userId(login),
        node_id: nodeId(bot ? "Bot" : "User", userId(login)),
        avatar_url: `https://avatars.githubusercontent.com/u/${userId(login)}?v=4`,
        gravatar_id: "",
        url,
        html_url: `https://github.com/${bot ? "apps/" + login.replace(/\[bot\]$/, "") : login}`,
        followers_url: `${url}/followers`,
        following_url: `${url}/following{/other_user}`,
        gists_url: `${url}/gists{/gist_id}`,
        starred_url: `${url}/starred{/owner}{/repo}`,
        subscriptions_url: `${url}/subscriptions`,
        organizations_url: `${url}/orgs`,
        repos_url: `${url}/repos`,
        events_url: `${url}/events{/privacy}`,
        received_events_url: `${url}/received_events`,
        type: bot ? "Bot" : "User",
        site_admin: false,
    };
}

function repoUrl(api: string, d: { owner: string; repo: string }): string {
    return `${api}/repos/${d.owner}/${d.repo}`;
}

export function deploymentView(api: string, d: FakeGithubDeployment): unknown {
    const url = `${repoUrl(api, d)}/deployments/${d.id}`;
    return {
        url,
        id: d.id,
        node_id: nodeId("Deployment", d.id),
        sha: d.sha,
        ref: d.ref,
        task: d.task,
        payload: d.payload,
        original_environment: d.original_environment,
        environment: d.environment,
        description: d.description,
        creator: userView(api, d.creator),
        created_at: d.created_at,
        updated_at: d.updated_at,
        statuses_url: `${url}/statuses`,
        repository_url: repoUrl(api, d),
        transient_environment: d.transient_environment,
        production_environment: d.production_environment,
        performed_via_github_app: null,
    };
}

export function statusView(api: string, d: FakeGithubDeployment, s: FakeGithubStatus): unknown {
    const deploymentUrl = `${repoUrl(api, d)}/deployments/${d.id}`;
    return {
        url: `${deploymentUrl}/statuses/${s.id}`,
        id: s.id,
        node_id: nodeId("DeploymentStatus", s.id),
        state: s.state,
        creator: userView(api, s.creator),
        description: s.description,
        environment: s.environment,
        // log_url replaced target_url; GitHub keeps both, equal.
        target_url: s.log_url,
        log_url: s.log_url,
        environment_url: s.environment_url,
        created_at: s.created_at,
        updated_at: s.created_at,
        deployment_url: deploymentUrl,
        repository_url: repoUrl(api, d),
        performed_via_github_app: null,
    };
}

/** environment (no protection rules, every branch may deploy). */
export function environmentView(api: string, e: FakeGithubEnvironment): unknown {
    return {
        id: e.id,
        node_id: nodeId("Environment", e.id),
        name: e.name,
        url: `${repoUrl(api, e)}/environments/${encodeURIComponent(e.name)}`,
        html_url: `https://github.com/${e.owner}/${e.repo}/deployments/activity_log?environments_filter=${encodeURIComponent(e.name)}`,
        created_at: e.created_at,
        updated_at: e.updated_at,
        protection_rules: [],
        deployment_branch_policy: null,
    };
}

/** basic-error, as GitHub answers 401, 403, 404 and 5xx (`status` is a string there). */
export function basicError(status: number, message: string): unknown {
    return { message, documentation_url: DOCS, status: String(status) };
}
