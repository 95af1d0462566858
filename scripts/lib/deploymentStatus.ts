/**
 * The deployment status sink of a notice, where a GitHub Actions job may write
 * one: the job's own token in KEEL_DEPLOYMENTS_TOKEN (deploy.yml and
 * rollback.yml map `github.token` with `permissions: deployments: write`), the
 * repository, the environment. Elsewhere (a laptop): none.
 */
import type { DeploymentStatusPost } from "../../components/operations/deployNotice";
import { DEPLOYMENTS_TOKEN_VARIABLE } from "../../components/operations/stepEnv";
import { parseGithubRepository, reportDeployment } from "../../components/vendors/github";

export function deploymentStatusSink(
    env: Record<string, string | undefined>,
    target: { environment: string; ref?: string; say: (line: string) => void },
): ((status: DeploymentStatusPost) => Promise<void>) | undefined {
    const token = env[DEPLOYMENTS_TOKEN_VARIABLE];
    if (env.GITHUB_ACTIONS !== "true" || !token || !env.GITHUB_REPOSITORY || !target.ref) return undefined;
    const repository = parseGithubRepository(env.GITHUB_REPOSITORY);
    const runUrl = env.GITHUB_SERVER_URL
        ? `${env.GITHUB_SERVER_URL}/${env.GITHUB_REPOSITORY}/actions/runs/${env.GITHUB_RUN_ID}`
        : undefined;
    return async (status) => {
        await reportDeployment(
            { ...repository, token, ...(env.GITHUB_API_URL ? { baseUrl: env.GITHUB_API_URL } : {}) },
            {
                environment: target.environment,
                ref: target.ref!,
                state: status.state,
                description: status.description,
                ...(status.environmentUrl ? { environmentUrl: status.environmentUrl } : {}),
                ...(runUrl ? { logUrl: runUrl } : {}),
                ...(env.GITHUB_RUN_ID ? { runId: env.GITHUB_RUN_ID } : {}),
            },
        );
        target.say(`keel: the ${target.environment} environment's deployment status is ${status.state}`);
    };
}
