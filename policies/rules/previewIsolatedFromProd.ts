/**
 * preview-isolated-from-prod: a pull request's preview (stack pr-<n>, stage
 * preview) runs the pull request's code, so it must never reach prod's
 * resources. In a preview stack this rule refuses
 * - a Neon branch that is prod's branch, or a child of it, or that has no
 *   parent (it would take the project's default branch, prod's): the preview
 *   branches off a non-prod stack's branch;
 * - a Fly app (or machines, secrets, certificate, IPs of an app) or a Render
 *   service named as a prod-stage stack's;
 * - a database URL on a prod-stage stack's server.
 * Prod's names come from the project's stack files (policies/prodStacks.ts);
 * prod's database servers also from the policy config `prodDatabaseServers`,
 * since a prod URL is a secret the files do not reveal. Mandatory on previews
 * only; other stages are not checked.
 */
import { ReportViolation, ResourceValidationArgs, ResourceValidationPolicy } from "@pulumi/policy";
import { FlyApp } from "../../components/backend/fly/app";
import { FlyCertificate } from "../../components/backend/fly/certificate";
import { FlyIpAddresses } from "../../components/backend/fly/ips";
import { FlyMachines } from "../../components/backend/fly/machines";
import { FlySecrets } from "../../components/backend/fly/secrets";
import { RenderService } from "../../components/backend/render/service";
import { NeonBranch } from "../../components/database/neon/branch";
import { prOfStack } from "../../components/previews/naming";
import { databaseServer, neonProjectOf, normalizeServer, ProdStack, prodStacksIn, projectNameIn, stackFileConfig } from "../prodStacks";
import {
    field,
    isSecret,
    isUnknown,
    HOW_IT_WORKS,
    PREVIEW_ONLY,
    projectRoot,
    raw,
    report,
    reveal,
    stackName,
    stageOf,
    Violation,
} from "../support";

/** Types whose `app` input names the Fly app they act on. */
const FLY_APP_USERS = [FlyMachines.__pulumiType, FlySecrets.__pulumiType, FlyCertificate.__pulumiType, FlyIpAddresses.__pulumiType];

/** The resource types this rule reads by name (any resource's database URLs are read too). */
export const RESOURCE_TYPES = [NeonBranch.__pulumiType, FlyApp.__pulumiType, RenderService.__pulumiType, ...FLY_APP_USERS];

/** The rule's settings (policy config): prod's database servers (`host`, `host:port` or a URL) the stack files keep secret. */
export interface IsolationSettings {
    prodDatabaseServers: string[];
}

export const DEFAULT_SETTINGS: IsolationSettings = { prodDatabaseServers: [] };

/** What the rule compares a preview's resources with. */
export interface Isolation {
    prod: ProdStack[];
    /** The preview's own Neon project, from its stack file; undefined: not known (every prod branch counts). */
    neonProject?: string;
    /** `host:port` of prod's servers named by the policy config. */
    prodDatabaseServers: string[];
}

/** The isolation context for a stack, from the project's files at `root` (absent files: nothing known from them). */
export function isolationFor(root: string, stack: string, settings: IsolationSettings = DEFAULT_SETTINGS): Isolation {
    const own = stackFileConfig(root, stack);
    const neonProject = own ? neonProjectOf(own, projectNameIn(root)) : undefined;
    return {
        prod: prodStacksIn(root),
        ...(neonProject ? { neonProject } : {}),
        prodDatabaseServers: settings.prodDatabaseServers.map(normalizeServer).filter((s): s is string => !!s),
    };
}

/** Postgres URLs anywhere in the props (a secret's value included): path and server. */
function databaseUrls(props: unknown): { path: string; server: string }[] {
    const found: { path: string; server: string }[] = [];
    const walk = (v: unknown, p: string, depth: number): void => {
        if (depth > 8 || v === null || v === undefined || isUnknown(v)) return;
        if (isSecret(v)) return walk(reveal(v), p, depth + 1);
        if (typeof v === "string") {
            const server = databaseServer(v);
            if (server) found.push({ path: p || "(the value)", server });
            return;
        }
        if (typeof v !== "object") return;
        for (const [k, child] of Object.entries(v as Record<string, unknown>)) walk(child, p ? `${p}.${k}` : k, depth + 1);
    };
    walk(raw(props), "", 0);
    return found;
}

export function checkPreviewIsolatedFromProd(
    args: Pick<ResourceValidationArgs, "type" | "props" | "urn" | "name">,
    isolation: Isolation | (() => Isolation),
): Violation[] {
    const level = PREVIEW_ONLY[stageOf(args)];
    if (!level) return [];
    const ctx = typeof isolation === "function" ? isolation() : isolation;
    const stack = stackName(args.urn);
    const pr = prOfStack(stack);
    const fix =
        `Fix: base the preview on a non-prod stack: keel pr down --pr ${pr ?? "<n>"}, then keel pr up --pr ${pr ?? "<n>"} --from staging ` +
        `(a preview runs the pull request's code and must never reach prod's resources).`;
    const what = `'${args.name}' (${args.type.replace("pulumi-nodejs:dynamic/", "")}) in the preview stack ${stack}`;
    const props = raw(args.props);
    const out: Violation[] = [];
    const v = (message: string) => out.push({ urn: args.urn, enforcementLevel: level, message: `${what} ${message}. ${fix}` });

    if (args.type === NeonBranch.__pulumiType) {
        const prodBranches = ctx.prod.flatMap((p) =>
            p.neonBranches.filter((b) => !ctx.neonProject || b.project === ctx.neonProject).map((b) => ({ ...b, stack: p.stack })),
        );
        const prodIn = (name: unknown) => prodBranches.find((b) => b.branch === name);
        const name = field<string>(props, "name");
        const parent = field<string>(props, "parent");
        const ownedByProd = prodIn(name);
        if (ownedByProd)
            v(
                `is prod's Neon branch '${ownedByProd.branch}' of project '${ownedByProd.project}' (the ${ownedByProd.stack} stack's): the preview would run on prod's data`,
            );
        const parentIsProd = prodIn(parent);
        if (parentIsProd)
            v(
                `is made from prod's Neon branch '${parentIsProd.branch}' of project '${parentIsProd.project}' (the ${parentIsProd.stack} stack's): a preview branches off a non-prod stack's branch`,
            );
        const noParent = !("parent" in props) || props.parent === null || props.parent === "";
        const projectIsProds = !ctx.neonProject || ctx.prod.some((p) => p.neonBranches.some((b) => b.project === ctx.neonProject));
        if (noParent && projectIsProds)
            v(
                `has no parent branch, so it is the Neon project's default branch${ctx.neonProject ? ` (project '${ctx.neonProject}')` : ""}, prod's: a preview branches off a non-prod stack's branch`,
            );
    }

    const appName =
        args.type === FlyApp.__pulumiType ? field(props, "name") : FLY_APP_USERS.includes(args.type) ? field(props, "app") : undefined;
    if (typeof appName === "string") {
        const owner = ctx.prod.find((p) => p.flyApps.includes(appName));
        if (owner) v(`acts on the Fly app '${appName}', the ${owner.stack} stack's (prod)`);
    }
    if (args.type === RenderService.__pulumiType) {
        const service = field(props, "name");
        const owner = ctx.prod.find((p) => typeof service === "string" && p.renderServices.includes(service));
        if (owner) v(`is the Render service '${service}', the ${owner.stack} stack's (prod)`);
    }

    for (const url of databaseUrls(props)) {
        const owner = ctx.prod.find((p) => p.databaseServers.includes(url.server))?.stack;
        // Only the server is named: the URL may be a secret.
        if (owner || ctx.prodDatabaseServers.includes(url.server))
            v(
                `has a database URL at ${url.path} on ${owner ? `the ${owner} stack's database server` : "a prod database server (policy config prodDatabaseServers)"}`,
            );
    }
    return out;
}

/** The pack reads the stack files once per stack and run. */
const cache = new Map<string, Isolation>();

export const previewIsolatedFromProd: ResourceValidationPolicy = {
    name: "preview-isolated-from-prod",
    description:
        "A pull request's preview (pr-<n>) reaches none of prod's resources: no prod Neon branch or child of it, no prod Fly app or Render service, no prod database server.",
    enforcementLevel: "mandatory",
    severity: "critical",
    url: `${HOW_IT_WORKS}#repository-gates-workflows-and-the-policy-pack`,
    remediationSteps: "Base the preview on a non-prod stack: keel pr down --pr <n>, then keel pr up --pr <n> --from staging.",
    configSchema: {
        properties: {
            prodDatabaseServers: { type: "array", items: { type: "string" }, default: DEFAULT_SETTINGS.prodDatabaseServers },
        },
    },
    validateResource: (args: ResourceValidationArgs, reportViolation: ReportViolation) => {
        const isolation = () => {
            const settings = { ...DEFAULT_SETTINGS, ...args.getConfig<Partial<IsolationSettings>>() };
            const stack = stackName(args.urn);
            const root = projectRoot();
            const key = `${root}\0${stack}\0${JSON.stringify(settings)}`;
            if (!cache.has(key)) cache.set(key, isolationFor(root, stack, settings));
            return cache.get(key)!;
        };
        for (const v of checkPreviewIsolatedFromProd(args, isolation)) report(reportViolation, v);
    },
};
