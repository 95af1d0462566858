/**
 * FlyBackend: the app, its addresses and certificates, its secrets (the
 * database URL among them), the machines rolled out by the configured
 * strategy, and the health gate on the public URL.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BackendConfig, FlyBackendConfig } from "../../config";
import { HealthGate } from "../healthGate";
import { BackendImage } from "../image";
import { FlyApp } from "./app";
import { FlyCertificate } from "./certificate";
import { FlyIpAddresses } from "./ips";
import { FlyMachines } from "./machines";
import { FlySecrets } from "./secrets";

export interface FlyBackendArgs {
    config: BackendConfig & { kind: "fly" };
    stack: string;
    /** Secret environment variables, the database URL included (secret). */
    secrets: pulumi.Input<Record<string, string>>;
    /** The Fly token, to push a built image to registry.fly.io (secret). */
    token?: pulumi.Input<string>;
    /** Stage-aware protect/retainOnDelete for the app. */
    keep: { protect: boolean; retainOnDelete: boolean };
    /** What the rollout waits for (the schema's migrations). */
    deployAfter: pulumi.Resource[];
}

export class FlyBackend extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly image: pulumi.Output<string>;
    readonly machineIds: pulumi.Output<string[]>;
    readonly releaseVersion: pulumi.Output<number>;

    constructor(name: string, args: FlyBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:backend:FlyBackend", name, {}, opts);
        const c = args.config;
        const f: FlyBackendConfig = c.fly;

        const app = new FlyApp(
            `${name}-app`,
            { name: f.app, orgSlug: f.org, stack: args.stack, protect: args.keep.protect, allowDelete: c.allowDelete },
            { parent: this, protect: args.keep.protect, retainOnDelete: args.keep.retainOnDelete },
        );
        const appName = app.appName;
        const image = new BackendImage(
            `${name}-image`,
            {
                source: c.image!,
                repository: `registry.fly.io/${f.app}`,
                registry: { server: "registry.fly.io", username: "x", password: args.token ?? "" },
                tag: `keel-${args.stack}`,
            },
            { parent: this, dependsOn: [app] },
        );
        const secrets = new FlySecrets(
            `${name}-secrets`,
            { app: appName, values: args.secrets },
            { parent: this, retainOnDelete: args.keep.retainOnDelete },
        );
        const dependsOn: pulumi.Resource[] = [secrets, ...args.deployAfter];
        if (f.sharedIpv4 || f.ipv6) {
            dependsOn.push(new FlyIpAddresses(`${name}-ips`, { app: appName, sharedIpv4: f.sharedIpv4, ipv6: f.ipv6 }, { parent: this }));
        }
        for (const hostname of f.domains) {
            new FlyCertificate(
                `${name}-cert-${hostname}`,
                { app: appName, hostname },
                { parent: this, dependsOn: dependsOn.filter((d) => d !== secrets) },
            );
        }
        const machines = new FlyMachines(
            `${name}-machines`,
            {
                app: appName,
                stack: args.stack,
                processGroup: f.processGroup,
                image: image.ref,
                regions: f.regions,
                guest: f.guest,
                env: c.env,
                service: {
                    internalPort: c.port,
                    autostop: f.autostop,
                    autostart: f.autostart,
                    minMachinesRunning: f.minMachinesRunning,
                    forceHttps: true,
                },
                healthCheck: { path: c.healthCheck.path, intervalSeconds: 15, timeoutSeconds: 5, gracePeriodSeconds: 10 },
                restart: f.restart,
                strategy: f.strategy,
                secretsVersion: secrets.version,
                healthTimeoutSeconds: f.machineHealthTimeoutSeconds,
            },
            // Prod's machines outlive a `pulumi destroy` like the app does (protect blocks deletion, not rollouts).
            { parent: this, dependsOn, protect: args.keep.protect, retainOnDelete: args.keep.retainOnDelete },
        );
        this.url = pulumi.output(f.domains.length ? `https://${f.domains[0]}` : pulumi.interpolate`https://${app.hostname}`);
        this.healthUrl = c.healthCheck.url
            ? pulumi.output(c.healthCheck.url)
            : pulumi.interpolate`https://${app.hostname}${c.healthCheck.path}`;
        // The gate checks the platform's own host name: a custom domain may still wait for DNS or its certificate.
        const gate = new HealthGate(
            `${name}-health`,
            {
                url: this.healthUrl,
                timeoutSeconds: c.healthCheck.timeoutSeconds,
                intervalSeconds: c.healthCheck.intervalSeconds,
                release: pulumi.interpolate`${image.ref}#${machines.releaseVersion}`,
                logsHint: pulumi.interpolate`fly logs -a ${appName} (and fly status -a ${appName})`,
            },
            { parent: this, dependsOn: [machines] },
        );
        this.image = pulumi.all([image.ref, gate.id]).apply(([ref]) => ref);
        this.machineIds = machines.machineIds;
        this.releaseVersion = machines.releaseVersion;
        this.registerOutputs({ url: this.url, healthUrl: this.healthUrl, image: this.image, machineIds: this.machineIds });
    }
}
