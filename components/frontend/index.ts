/**
 * Frontend: the Vercel project, its environment variables for production and
 * preview (the backend's public URL among them, secrets marked sensitive) and
 * its custom domains. Vercel builds from the linked repository; Keel owns the
 * project's settings, not its deployments; what it does to them is a
 * rollback's frontend step (rollback.ts), promoting back the production
 * deployment that was live when the target's update ended.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Credentials } from "../config/pulumi";
import * as vercel from "@pulumiverse/vercel";
import type { FrontendConfig } from "../config";

export interface FrontendArgs {
    config: FrontendConfig;
    stack: string;
    /** The backend's public URL, given as config.backendUrlEnv. */
    backendUrl?: pulumi.Input<string>;
    /** Stage-aware: protect and retain the project in prod. */
    protect: boolean;
    retainOnDelete: boolean;
    /** The stack's credentials (config/pulumi.ts): keel:vercelApiToken (else the provider reads VERCEL_API_TOKEN). */
    credentials: Credentials;
}

/** Every variable goes to production and preview: a preview build should talk to the same stack's backend. */
export const ENV_TARGETS = ["production", "preview"];

export class Frontend extends pulumi.ComponentResource {
    readonly projectId: pulumi.Output<string>;
    readonly url: pulumi.Output<string>;
    readonly healthUrl?: pulumi.Output<string>;
    /** Variable names managed by Keel (never values). */
    readonly envKeys: string[];

    constructor(name: string, args: FrontendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:frontend:Frontend", name, {}, opts);
        const c = args.config;
        const token = args.credentials.get("vercelApiToken");
        // An explicit provider: the token from keel:vercelApiToken (else VERCEL_API_TOKEN, read by the provider itself).
        const provider = new vercel.Provider(
            `${name}-vercel`,
            { ...(token ? { apiToken: token } : {}), ...(c.teamId ? { team: c.teamId } : {}) },
            { parent: this },
        );
        const child = { parent: this, provider };

        const project = new vercel.Project(
            `${name}-project`,
            {
                name: c.name,
                ...(c.framework ? { framework: c.framework } : {}),
                ...(c.rootDirectory ? { rootDirectory: c.rootDirectory } : {}),
                ...(c.buildCommand ? { buildCommand: c.buildCommand } : {}),
                ...(c.installCommand ? { installCommand: c.installCommand } : {}),
                ...(c.outputDirectory ? { outputDirectory: c.outputDirectory } : {}),
                ...(c.git ? { gitRepository: { type: "github", repo: c.git.repo, productionBranch: c.git.productionBranch } } : {}),
            },
            { ...child, protect: args.protect, retainOnDelete: args.retainOnDelete },
        );

        const vars: { key: string; value: pulumi.Input<string>; sensitive: boolean }[] = [
            ...Object.entries(c.env).map(([key, value]) => ({ key, value, sensitive: false })),
            ...Object.entries(c.secrets).map(([key, value]) => ({ key, value: pulumi.secret(value), sensitive: true })),
        ];
        if (c.backendUrlEnv && args.backendUrl !== undefined) vars.push({ key: c.backendUrlEnv, value: args.backendUrl, sensitive: false });
        for (const v of vars) {
            new vercel.ProjectEnvironmentVariable(
                `${name}-env-${v.key}`,
                { projectId: project.id, key: v.key, value: v.value, targets: ENV_TARGETS, sensitive: v.sensitive },
                // Vercel refuses a second variable with the same key and target (ENV_ALREADY_EXISTS):
                // a replacement must delete the old one first.
                { ...child, deleteBeforeReplace: true },
            );
        }
        this.envKeys = vars.map((v) => v.key);
        for (const domain of c.domains) {
            new vercel.ProjectDomain(`${name}-domain-${domain}`, { projectId: project.id, domain }, child);
        }
        this.projectId = project.id;
        this.url = pulumi.output(c.domains.length ? `https://${c.domains[0]}` : `https://${c.name}.vercel.app`);
        if (c.healthPath) this.healthUrl = this.url.apply((u) => `${u}${c.healthPath === "/" ? "" : c.healthPath}`);
        this.registerOutputs({ projectId: this.projectId, url: this.url, envKeys: this.envKeys });
    }
}
