/**
 * `keel:frontend`: the web app's Vercel project, its variables (secrets as
 * sensitive, never under a browser-exposed prefix), the backend's URL and the
 * domains. Pure: no Pulumi imports.
 */
import { z } from "zod";
import type { BackendConfig } from "./backend";
import { ConfigContext, envMap, envName, Filled, fixFor, hostname, NAMESPACE, parseSection, serviceName, urlPath } from "./context";
import { computedDefault } from "./keyDocs";
import { physicalName } from "../naming";
import { credentialProblem, parseSecrets } from "./secrets";

export const frontendSchema = z
    .object({
        name: computedDefault(serviceName.optional().describe("the Vercel project's name"), "`<project>-<stack>-web`"),
        teamId: z.string().min(1).optional().describe("the Vercel team that owns the project"),
        framework: z.string().min(1).optional().describe("Vercel's framework preset, such as nextjs"),
        rootDirectory: z.string().min(1).optional().describe("the app's directory in the repository"),
        buildCommand: z.string().min(1).optional().describe("overrides the framework's build command"),
        installCommand: z.string().min(1).optional().describe("overrides the framework's install command"),
        outputDirectory: z.string().min(1).optional().describe("overrides the framework's output directory"),
        git: z
            .object({
                repo: z
                    .string()
                    .regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { message: "expected owner/name, such as my-org/my-app" })
                    .describe("the repository Vercel deploys, as owner/name"),
                productionBranch: computedDefault(
                    z.string().min(1).optional().describe("the branch Vercel deploys to production"),
                    "`main` on prod, else the stack's name",
                ),
            })
            .strict()
            .optional()
            .describe("connect the project to a Git repository"),
        env: envMap.default({}).describe("plain variables, for production and preview (sensitive ones: keel:frontendSecrets)"),
        backendUrlEnv: z
            .union([envName, z.literal("")])
            .default("NEXT_PUBLIC_API_URL")
            .describe("the variable that carries the backend's public URL; empty: none"),
        domains: z.array(hostname).default([]).describe("custom domains"),
        healthPath: z
            .union([urlPath, z.literal("")])
            .default("/")
            .describe("the path checked after the backend's own gate; empty: no check"),
    })
    .strict();

type FrontendSection = z.output<typeof frontendSchema>;

export type FrontendConfig = Filled<Omit<FrontendSection, "git">, "name"> & {
    git?: Filled<NonNullable<FrontendSection["git"]>, "productionBranch">;
    /** Sensitive variables, from the secret key keel:frontendSecrets. */
    secrets: Record<string, string>;
};

/** keel:frontend; undefined when the stack has no frontend. */
export function parseFrontend(ctx: ConfigContext, backend: BackendConfig | undefined, hasBackendKey: boolean): FrontendConfig | undefined {
    const raw = ctx.get("frontend");
    const secrets = parseSecrets(ctx, "frontendSecrets");
    if (raw === undefined) {
        if (Object.keys(secrets).length) {
            ctx.problems.push({
                key: `${NAMESPACE}:frontendSecrets`,
                message: "is set but the stack has no frontend (keel:frontend)",
                fix: `${fixFor(ctx, "frontend.name")}, or npm run pulumi -- config rm ${NAMESPACE}:frontendSecrets --stack ${ctx.stack}`,
            });
        }
        return undefined;
    }
    const before = ctx.problems.length;
    const section = parseSection(ctx, "frontend", frontendSchema);
    credentialProblem(
        ctx,
        "vercelApiToken",
        "VERCEL_API_TOKEN",
        "the frontend needs a Vercel API token",
        "token from Vercel > Account settings > Tokens",
    );
    if (!section) return undefined;
    if (section.backendUrlEnv && !backend && !hasBackendKey) {
        ctx.problems.push({
            key: `${NAMESPACE}:frontend.backendUrlEnv`,
            message: `is '${section.backendUrlEnv}' but the stack has no backend whose URL it could carry`,
            fix: `npm run pulumi -- config set --path ${NAMESPACE}:frontend.backendUrlEnv '' --stack ${ctx.stack} (or configure keel:backend)`,
        });
    }
    for (const k of Object.keys(section.env)) {
        if (k in secrets || k === section.backendUrlEnv) {
            ctx.problems.push({
                key: `${NAMESPACE}:frontend.env.${k}`,
                message: `is also ${k === section.backendUrlEnv ? "the backend URL's variable (frontend.backendUrlEnv)" : "a secret in keel:frontendSecrets"}; one value per variable`,
                fix: `npm run pulumi -- config rm --path ${NAMESPACE}:frontend.env.${k} --stack ${ctx.stack}`,
            });
        }
    }
    // Browser-exposed prefixes would ship a secret to every visitor.
    for (const k of Object.keys(secrets)) {
        if (/^(NEXT_PUBLIC_|VITE_|REACT_APP_|NUXT_PUBLIC_|PUBLIC_|EXPO_PUBLIC_)/.test(k)) {
            ctx.problems.push({
                key: `${NAMESPACE}:frontendSecrets.${k}`,
                message: "has a browser-exposed prefix: the framework inlines it into the public bundle, so it is no secret",
                fix: `move it to keel:frontend.env if it is public, or rename it without the prefix: npm run pulumi -- config rm --path ${NAMESPACE}:frontendSecrets.${k} --stack ${ctx.stack}`,
            });
        }
    }
    if (ctx.problems.length > before) return undefined;
    return {
        name: section.name ?? physicalName("vercelProject", ctx.project, ctx.stack, "web"),
        teamId: section.teamId,
        framework: section.framework,
        rootDirectory: section.rootDirectory,
        buildCommand: section.buildCommand,
        installCommand: section.installCommand,
        outputDirectory: section.outputDirectory,
        git: section.git
            ? { repo: section.git.repo, productionBranch: section.git.productionBranch ?? (ctx.stage === "prod" ? "main" : ctx.stack) }
            : undefined,
        env: section.env,
        secrets,
        backendUrlEnv: section.backendUrlEnv,
        domains: section.domains,
        healthPath: section.healthPath,
    };
}
