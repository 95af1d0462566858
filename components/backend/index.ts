/**
 * Backend: the product's service on Fly.io or Render, by kind. Secret values
 * (keel:backendSecrets and the database's pooled URL) travel as one secret
 * map; the deploy is followed until healthy, and a health gate on the public
 * URL fails `pulumi up` when the new version does not answer.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Credentials } from "../config/pulumi";
import type { BackendConfig } from "../config";
import { FlyBackend } from "./fly";
import { RenderBackend } from "./render";

export interface BackendArgs {
    config: BackendConfig;
    stack: string;
    /** The database's pooled URL (secret), given as config.databaseUrlEnv. */
    databaseUrl?: pulumi.Input<string>;
    /** Stage-aware defaults: protect and retain the app or service in prod. */
    protect: boolean;
    retainOnDelete: boolean;
    /** What the rollout waits for (the schema's migrations): the new version runs against the new schema. */
    deployAfter?: pulumi.Resource[];
    /** The stack's credentials (config/pulumi.ts): the Fly token, the registry password. */
    credentials: Credentials;
}

export class Backend extends pulumi.ComponentResource {
    readonly kind: BackendConfig["kind"];
    /** The public URL (the first custom domain, else the platform's). */
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    /** What runs: the image reference (a digest when Keel built it). */
    readonly image: pulumi.Output<string>;
    readonly machineIds?: pulumi.Output<string[]>;
    readonly deployId?: pulumi.Output<string>;
    /** Where to look when it misbehaves: `fly logs -a <app>`, or the Render service's logs in the dashboard. */
    readonly logs: pulumi.Output<string>;

    constructor(name: string, args: BackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:backend:Backend", name, {}, opts);
        const c = args.config;
        this.kind = c.kind;
        const keep = { protect: args.protect && !c.allowDelete, retainOnDelete: args.retainOnDelete && !c.allowDelete };
        const secrets = pulumi
            .all([pulumi.secret(c.secrets), args.databaseUrl ?? ""])
            .apply(([values, url]) => (c.databaseUrlEnv && url ? { ...values, [c.databaseUrlEnv]: url } : { ...values }));
        if (c.kind === "fly") {
            const token = args.credentials.get("flyApiToken", "FLY_API_TOKEN");
            const fly = new FlyBackend(
                `${name}-fly`,
                { config: c, stack: args.stack, secrets: pulumi.secret(secrets), token, keep, deployAfter: args.deployAfter ?? [] },
                { parent: this },
            );
            this.url = fly.url;
            this.healthUrl = fly.healthUrl;
            this.image = fly.image;
            this.machineIds = fly.machineIds;
            this.logs = pulumi.output(`fly logs -a ${c.fly.app}`);
        } else {
            const render = new RenderBackend(
                `${name}-render`,
                {
                    config: c,
                    stack: args.stack,
                    secrets: pulumi.secret(secrets),
                    registryPassword: args.credentials.get("registryPassword"),
                    keep,
                    deployAfter: args.deployAfter ?? [],
                },
                { parent: this },
            );
            this.url = render.url;
            this.healthUrl = render.healthUrl;
            this.image = render.image;
            this.deployId = render.deployId;
            this.logs = pulumi.interpolate`https://dashboard.render.com/web/${render.serviceId}/logs`;
        }
        this.registerOutputs({ kind: this.kind, url: this.url, healthUrl: this.healthUrl, image: this.image });
    }
}
