/**
 * NeonDatabase: the stack's database on Neon. One project per app (owned by
 * one stack, looked up by the others), a branch per stack, its read-write
 * endpoint, a role and a database; out come the direct URL (migrations) and
 * the pooled `-pooler` URL (the app), both secret.
 *
 * With `protect` (prod) every Neon resource is `protect`ed and
 * `retainOnDelete`, and the providers refuse to delete them as a second guard,
 * unless `allowDelete` (keel:database.neon.allowDelete) says it is meant.
 */
import * as pulumi from "@pulumi/pulumi";
import { dataGuardFor } from "../../dataGuard";
import { poolerHost, postgresUrl } from "./common";
import { NeonBranch } from "./branch";
import { NeonBranchDatabase } from "./database";
import { NeonEndpoint } from "./endpoint";
import { NeonProject } from "./project";
import { NeonRole } from "./role";

export interface NeonDatabaseArgs {
    /** e.g. "staging" */
    stack: string;
    project: { name: string; owned: boolean; regionId: string; pgVersion: number; orgId?: string };
    /** parent undefined => this stack uses the project's default branch */
    /** expiresAt (RFC 3339): when Neon deletes the branch (a preview's, keel:database.neon.branch.expiresAt); moved in place. */
    branch: { name: string; parent?: string; protected: boolean; schemaOnly: boolean; expiresAt?: string };
    endpoint: { minCu: number; maxCu: number; suspendTimeoutSeconds: number };
    roleName: string;
    databaseName: string;
    /** Stage-aware: true in prod. protect + retainOnDelete on project and branch when true. */
    protect: boolean;
    /**
     * `keel:database.neon.allowDelete`: deleting the protected Neon objects is meant. Lifts
     * protect and retainOnDelete, and the providers' refusal. Default false.
     */
    allowDelete?: boolean;
    /** `keel:allowDataLoss`: the names of the resources that hold data and may go (components/dataGuard.ts). */
    allowDataLoss?: readonly string[];
}

export class NeonDatabase extends pulumi.ComponentResource {
    /** Direct URL, for migrations. Secret. */
    readonly directUrl: pulumi.Output<string>;
    /** Pooled (`-pooler` host) URL, for the app. Secret. */
    readonly pooledUrl: pulumi.Output<string>;
    readonly projectId: pulumi.Output<string>;
    readonly branchId: pulumi.Output<string>;
    readonly endpointId: pulumi.Output<string>;
    /** The Neon resources, for tests and policies. */
    readonly resources: { project: NeonProject; branch: NeonBranch; endpoint: NeonEndpoint; role: NeonRole; database: NeonBranchDatabase };

    constructor(name: string, args: NeonDatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:database:NeonDatabase", name, {}, opts);
        const allowDelete = args.allowDelete ?? false;
        const guarded = args.protect && !allowDelete;
        const common = { stack: args.stack, protect: args.protect, allowDelete };
        const keep: pulumi.CustomResourceOptions = { parent: this, protect: guarded, retainOnDelete: guarded };
        // What holds data is protected on every stage, unless keel:allowDataLoss names it; prod also retains it.
        // keel:database.neon.allowDelete, the older per-database form, allows all of them.
        const holding = (resource: string) => {
            const dataGuard = dataGuardFor(resource, allowDelete ? [resource] : (args.allowDataLoss ?? []));
            return { inputs: { dataGuard }, opts: { ...keep, protect: !dataGuard.allowed, retainOnDelete: guarded && !dataGuard.allowed } };
        };
        const projectGuard = holding(`${name}-project`);
        const branchGuard = holding(`${name}-branch`);
        const roleGuard = holding(`${name}-role`);
        const databaseGuard = holding(`${name}-db`);
        const usesDefaultBranch = args.branch.parent === undefined;

        const project = new NeonProject(
            `${name}-project`,
            {
                name: args.project.name,
                owned: args.project.owned,
                regionId: args.project.regionId,
                pgVersion: args.project.pgVersion,
                ...(args.project.orgId ? { orgId: args.project.orgId } : {}),
                // A project this stack creates starts with its branch, role and database named as configured.
                ...(args.project.owned && usesDefaultBranch
                    ? { defaultBranchName: args.branch.name, roleName: args.roleName, databaseName: args.databaseName }
                    : {}),
                ...common,
                ...projectGuard.inputs,
            },
            projectGuard.opts,
        );
        const branch = new NeonBranch(
            `${name}-branch`,
            {
                projectId: project.projectId,
                name: args.branch.name,
                ...(usesDefaultBranch ? {} : { parent: args.branch.parent }),
                protected: args.branch.protected,
                schemaOnly: args.branch.schemaOnly,
                ...(args.branch.expiresAt !== undefined ? { expiresAt: args.branch.expiresAt } : {}),
                ...common,
                ...branchGuard.inputs,
            },
            branchGuard.opts,
        );
        const endpoint = new NeonEndpoint(
            `${name}-endpoint`,
            {
                projectId: project.projectId,
                branchId: branch.branchId,
                minCu: args.endpoint.minCu,
                maxCu: args.endpoint.maxCu,
                suspendTimeoutSeconds: args.endpoint.suspendTimeoutSeconds,
                ...common,
            },
            keep,
        );
        // One change at a time on the branch: Neon answers 423 to a second while the first runs.
        const role = new NeonRole(
            `${name}-role`,
            {
                projectId: project.projectId,
                branchId: branch.branchId,
                name: args.roleName,
                resetPasswordOnAdopt: !usesDefaultBranch,
                ...common,
                ...roleGuard.inputs,
            },
            { ...roleGuard.opts, dependsOn: [endpoint] },
        );
        const database = new NeonBranchDatabase(
            `${name}-db`,
            {
                projectId: project.projectId,
                branchId: branch.branchId,
                name: args.databaseName,
                ownerName: role.name,
                ...common,
                ...databaseGuard.inputs,
            },
            { ...databaseGuard.opts, dependsOn: [role] },
        );

        const parts = pulumi.all([role.name, role.password, endpoint.host, database.name]);
        this.directUrl = pulumi.secret(parts.apply(([user, password, host, db]) => postgresUrl(user, password, host, db)));
        this.pooledUrl = pulumi.secret(parts.apply(([user, password, host, db]) => postgresUrl(user, password, poolerHost(host), db)));
        this.projectId = project.projectId;
        this.branchId = branch.branchId;
        this.endpointId = endpoint.endpointId;
        this.resources = { project, branch, endpoint, role, database };
        this.registerOutputs({
            directUrl: this.directUrl,
            pooledUrl: this.pooledUrl,
            projectId: this.projectId,
            branchId: this.branchId,
            endpointId: this.endpointId,
        });
    }
}

export { NeonProject, NeonBranch, NeonEndpoint, NeonRole, NeonBranchDatabase };
