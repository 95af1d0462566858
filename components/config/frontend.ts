/**
 * `keel:frontend`: the web app's Vercel project, its variables (secrets as
 * sensitive, never under a browser-exposed prefix), the backend's URL and the
 * domains. Pure: no Pulumi imports.
 */
import { z } from "zod";
import type { BackendConfig } from "./backend";
import { ConfigContext, envMap, envName, fixFor, hostname, NAMESPACE, parseSection, serviceName, urlPath } from "./context";
import { physicalName } from "../naming";
import { credentialProblem, parseSecrets } from "./secrets";

export interface FrontendConfig {
    name: string;
    teamId?: string;
    framework?: string;
    rootDirectory?: string;
    buildCommand?: string;
    installCommand?: string;
    outputDirectory?: string;
    git?: { repo: string; productionBranch: string };
    /** Plain variables, for production and preview. */
    env: Record<string, string>;
    /** Sensitive variables, from the secret key keel:frontendSecrets. */
    secrets: Record<string, string>;
    /** The variable that carries the backend's public URL (empty: none). */
    backendUrlEnv: string;
    domains: string[];
    /** Checked after the backend's own gate; empty: no check. */
    healthPath: string;
}

const frontendSchema = z
    .object({
        name: serviceName.optional(),
        teamId: z.string().min(1).optional(),
        framework: z.string().min(1).optional(),
        rootDirectory: z.string().min(1).optional(),
        buildCommand: z.string().min(1).optional(),
        installCommand: z.string().min(1).optional(),
        outputDirectory: z.string().min(1).optional(),
        git: z
            .object({
                repo: z.string().regex(/^[A-Za-z0-9_.-]+\/[A-Za-z0-9_.-]+$/, { message: "expected owner/name, such as my-org/my-app" }),
                productionBranch: z.string().min(1).optional(),
            })
            .strict()
            .optional(),
        env: envMap.default({}),
        backendUrlEnv: z.union([envName, z.literal("")]).default("NEXT_PUBLIC_API_URL"),
        domains: z.array(hostname).default([]),
        healthPath: z.union([urlPath, z.literal("")]).default("/"),
    })
    .strict();

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
