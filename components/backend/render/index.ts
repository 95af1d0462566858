/**
 * RenderBackend: the web service with its whole set of environment variables
 * (the database URL among them), deployed and followed until live, its
 * custom domains, and the health gate on the public URL.
 */
import * as pulumi from "@pulumi/pulumi";
import type { BackendConfig } from "../../config";
import { HealthGate } from "../healthGate";
import { BackendImage } from "../image";
import { RenderCustomDomain } from "./customDomain";
import { RenderService, RenderSource } from "./service";

export interface RenderBackendArgs {
    config: BackendConfig & { kind: "render" };
    stack: string;
    /** Secret environment variables, the database URL included (secret). */
    secrets: pulumi.Input<Record<string, string>>;
    /** The registry password, to push a built image (secret). */
    registryPassword?: pulumi.Input<string>;
    keep: { protect: boolean; retainOnDelete: boolean };
    /** What the rollout waits for (the schema's migrations). */
    deployAfter: pulumi.Resource[];
}

export class RenderBackend extends pulumi.ComponentResource {
    readonly url: pulumi.Output<string>;
    readonly healthUrl: pulumi.Output<string>;
    readonly image: pulumi.Output<string>;
    readonly serviceId: pulumi.Output<string>;
    readonly deployId: pulumi.Output<string>;

    constructor(name: string, args: RenderBackendArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:backend:RenderBackend", name, {}, opts);
        const c = args.config;
        const r = c.render;

        let source: pulumi.Input<RenderSource>;
        let imageRef: pulumi.Output<string>;
        if (r.repo) {
            source = {
                kind: "repo",
                repo: r.repo.url,
                branch: r.repo.branch,
                dockerfilePath: r.repo.dockerfilePath,
                dockerContext: r.repo.dockerContext,
            };
            imageRef = pulumi.output(`${r.repo.url}#${r.repo.branch}`);
        } else {
            const registry = c.image!.kind === "build" ? c.image!.registry! : undefined;
            const image = new BackendImage(
                `${name}-image`,
                {
                    source: c.image!,
                    repository: registry ? `${registry.server}/${registry.repository}` : "",
                    registry: { server: registry?.server ?? "", username: registry?.username ?? "", password: args.registryPassword ?? "" },
                    tag: `keel-${args.stack}`,
                },
                { parent: this },
            );
            imageRef = image.ref;
            source = image.ref.apply((ref) => ({
                kind: "image" as const,
                image: ref,
                ...(r.registryCredentialId ? { registryCredentialId: r.registryCredentialId } : {}),
            }));
        }
        const envVars = pulumi.output(args.secrets).apply((secrets) => ({ ...c.env, ...secrets }));
        const service = new RenderService(
            `${name}-service`,
            {
                name: r.name,
                stack: args.stack,
                protect: args.keep.protect,
                allowDelete: c.allowDelete,
                ownerId: r.ownerId,
                source,
                plan: r.plan,
                region: r.region,
                numInstances: r.instances,
                healthCheckPath: c.healthCheck.path,
                ...(r.preDeployCommand ? { preDeployCommand: r.preDeployCommand } : {}),
                envVars,
                deployTimeoutSeconds: r.deployTimeoutSeconds,
            },
            { parent: this, protect: args.keep.protect, retainOnDelete: args.keep.retainOnDelete, dependsOn: args.deployAfter },
        );
        for (const domain of r.domains) {
            new RenderCustomDomain(`${name}-domain-${domain}`, { serviceId: service.serviceId, name: domain }, { parent: this });
        }
        this.url = r.domains.length ? pulumi.output(`https://${r.domains[0]}`) : service.url;
        this.healthUrl = c.healthCheck.url ? pulumi.output(c.healthCheck.url) : pulumi.interpolate`${service.url}${c.healthCheck.path}`;
        const gate = new HealthGate(
            `${name}-health`,
            {
                url: this.healthUrl,
                timeoutSeconds: c.healthCheck.timeoutSeconds,
                intervalSeconds: c.healthCheck.intervalSeconds,
                release: service.deployId,
                logsHint: pulumi.interpolate`https://dashboard.render.com/web/${service.serviceId}/deploys/${service.deployId}`,
            },
            { parent: this, dependsOn: [service] },
        );
        this.image = pulumi.all([imageRef, gate.id]).apply(([ref]) => ref);
        this.serviceId = service.serviceId;
        this.deployId = service.deployId;
        this.registerOutputs({
            url: this.url,
            healthUrl: this.healthUrl,
            image: this.image,
            serviceId: this.serviceId,
            deployId: this.deployId,
        });
    }
}
