/**
 * A preview stack's file, made from its base stack's every time `keel pr up` or
 * `keel pr down` runs (CI runners are fresh: no file per pull request is ever
 * committed). Everything the base sets is kept as written, secrets included
 * (their ciphertexts with the base's salt, so the same passphrase opens them
 * from run to run), except what names a thing the preview must have of its own
 * (its database, its backend) or must not have at all (the base's Vercel
 * project and GitHub gates, its data-loss permissions, its own previews): each
 * of those is listed here with what replaces it. Pure: no Pulumi imports.
 */
import type { KeelConfig } from "../config";
import { DEFAULT_LOCAL_PORT } from "../config/database";
import { KeelError } from "../errors";
import type { PreviewConfig, PreviewsConfig } from "../config/previews";
import { previewBranchName, previewServiceName } from "./naming";

export class PreviewConfigError extends KeelError {
    constructor(message: string) {
        super(message, "PreviewConfigError");
    }
}

/** A stack file as YAML gives it: `config:` and the secrets provider's settings. */
export interface StackFileDoc {
    secretsprovider?: string;
    encryptionsalt?: string;
    config?: Record<string, unknown>;
}

export interface PreviewStackInput {
    pr: number;
    /** The pull request's head branch. */
    branch: string;
    base: { stack: string; doc: StackFileDoc; config: KeelConfig };
    /** The time of this push: the preview expires ttlDays after it. */
    now: Date;
    /** When the preview was first made (its earlier runs' keel:preview.createdAt); now for a new one. */
    createdAt?: string;
    /** The base's previews settings (previewsOf); `keel pr down` passes them even when previews were turned off since. */
    previews: PreviewsConfig;
    /** Local ports other stack files give their servers (a local preview gets the next free one). */
    usedPorts: number[];
}

/** The keys of the base that the preview never takes, each with why (they are replaced or have no meaning there). */
export const NOT_INHERITED: Readonly<Record<string, string>> = {
    "keel:stage": "a preview's stage is preview",
    "keel:previews": "previews are made from a base, not from another preview",
    "keel:github": "a preview gets a deployment environment of its own (preview-pr-<n>), not the base's gates",
    "keel:frontend": "a preview sets a variable for its branch on the base's Vercel project, not a project of its own",
    "keel:allowDataLoss": "the base's permissions to lose data are the base's",
    "keel:copyFrom": "a masked preview is copied from its base",
};

/** What the previews of a base allow, or why the base cannot have them. */
export function previewsOf(base: KeelConfig): PreviewsConfig {
    if (base.stage === "prod" || base.stage === "preview") {
        throw new PreviewConfigError(
            `the ${base.stack} stack is a ${base.stage}-stage stack: previews run a pull request's code, so they are made from a staging or dev stack (--from staging), never from prod's settings and tokens`,
        );
    }
    if (!base.previews?.enabled) {
        throw new PreviewConfigError(
            `the ${base.stack} stack does not make previews (keel:previews.enabled is not true): npm run pulumi -- config set --path keel:previews.enabled true --stack ${base.stack}, commit Pulumi.${base.stack}.yaml, then run this again`,
        );
    }
    return base.previews;
}

/** The preview's file: the base's, with the preview's own names, sizes and expiry. */
export function previewStackDoc(input: PreviewStackInput): StackFileDoc {
    const { pr, base } = input;
    const previews = input.previews;
    const baseConfig = base.doc.config ?? {};
    const config: Record<string, unknown> = {};
    for (const [key, value] of Object.entries(baseConfig)) {
        if (!(key in NOT_INHERITED)) config[key] = structuredClone(value);
    }
    const expiresAt = wholeSeconds(new Date(input.now.getTime() + previews.ttlDays * 86_400_000));
    const preview: PreviewConfig = {
        pr,
        base: base.stack,
        branch: input.branch,
        expiresAt,
        createdAt: input.createdAt ?? wholeSeconds(input.now),
        data: previews.data,
        ...frontendOf(base.config),
        ...(base.config.github ? { github: { owner: base.config.github.owner, repository: base.config.github.repository } } : {}),
    };
    config["keel:stage"] = "preview";
    config["keel:preview"] = preview;
    config["keel:database"] = databaseOf(input, expiresAt, previews);
    if (previews.data === "masked" && base.config.database.kind !== "neon") config["keel:copyFrom"] = base.stack;
    if (base.config.backend) config["keel:backend"] = backendOf(baseConfig["keel:backend"], input, previews);
    return {
        ...(base.doc.secretsprovider ? { secretsprovider: base.doc.secretsprovider } : {}),
        ...(base.doc.encryptionsalt ? { encryptionsalt: base.doc.encryptionsalt } : {}),
        config,
    };
}

/** RFC 3339 with whole seconds (2026-12-14T18:02:16Z): what keel:database.neon.branch.expiresAt accepts, not toISOString's milliseconds. */
function wholeSeconds(t: Date): string {
    return new Date(Math.floor(t.getTime() / 1000) * 1000).toISOString().replace(/\.000Z$/, "Z");
}

function frontendOf(base: KeelConfig): Pick<PreviewConfig, "frontend"> {
    const f = base.frontend;
    if (!f || !f.backendUrlEnv || !base.backend) return {};
    return { frontend: { project: f.name, ...(f.teamId ? { teamId: f.teamId } : {}), variable: f.backendUrlEnv } };
}

/** The database section: a Neon child branch of the base's with an expiry, a database of its own beside an external one, or a local server of its own. */
function databaseOf(input: PreviewStackInput, expiresAt: string, previews: PreviewsConfig): Record<string, unknown> {
    const { base } = input;
    const db = base.config.database;
    const raw = structuredClone((base.doc.config?.["keel:database"] ?? {}) as Record<string, any>);
    switch (db.kind) {
        case "neon":
            return {
                ...raw,
                kind: "neon",
                neon: {
                    ...raw.neon,
                    branch: {
                        name: previewBranchName(input.pr),
                        parent: db.branch.name,
                        // masked: the base's rows (a non-prod base holds masked or made-up data only); otherwise its schema alone.
                        schemaOnly: previews.data !== "masked",
                        protected: false,
                        expiresAt,
                    },
                    endpoint: { minCu: 0.25, maxCu: 0.25, suspendTimeoutSeconds: 300 },
                },
            };
        case "external":
            // The base's server (keel:databaseUrl, inherited): the program makes <db>_pr_<n> on it (components/previews/database.ts).
            return { ...raw, kind: "external" };
        case "local": {
            if (base.config.backend) {
                throw new PreviewConfigError(
                    `the ${base.stack} stack's database is local, which a deployed backend cannot reach: a preview with a backend needs a neon or external database (keel:database.kind in Pulumi.${base.stack}.yaml)`,
                );
            }
            const port = Math.max(...input.usedPorts, DEFAULT_LOCAL_PORT) + 1;
            return { ...raw, kind: "local", local: { ...(raw.local ?? {}), port } };
        }
        case "docker":
            throw new PreviewConfigError(
                `the ${base.stack} stack's database is docker: previews are made for neon, external and local databases (a preview's database must be one Keel can make beside the base's and remove afterwards)`,
            );
    }
}

/** The backend section: the base's, named for the pull request, at the smallest size, without the base's domains. */
function backendOf(raw: unknown, input: PreviewStackInput, previews: PreviewsConfig): Record<string, unknown> {
    const backend = structuredClone((raw ?? {}) as Record<string, any>);
    const base = input.base.config.backend!;
    // The base's own health URL (a custom host) is the base's: the preview is checked on keel:previews.healthCheckUrl, else its platform host.
    if (backend.healthCheck) delete backend.healthCheck.url;
    if (previews.healthCheckUrl) {
        backend.healthCheck = { ...backend.healthCheck, url: previews.healthCheckUrl.split("{pr}").join(String(input.pr)) };
    }
    delete backend.watch;
    delete backend.allowDelete;
    if (base.kind === "fly") {
        const { app, regions } = base.fly;
        const fly = { ...(backend.fly ?? {}) };
        delete fly.regions;
        delete fly.size;
        delete fly.domains;
        delete fly.minMachinesRunning;
        backend.fly = {
            ...fly,
            app: previewServiceName(app, input.pr),
            region: regions[0].region,
            count: 1,
            strategy: "immediate",
            autostop: "stop",
        };
    } else {
        const render = { ...(backend.render ?? {}) };
        delete render.domains;
        backend.render = {
            ...render,
            name: previewServiceName(base.render.name, input.pr),
            plan: "starter",
            instances: 1,
            ...(render.repo ? { repo: { ...render.repo, branch: input.branch } } : {}),
        };
    }
    return backend;
}
