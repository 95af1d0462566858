/**
 * DockerPostgres: a local PostgreSQL for the dev stack. A pinned image, a
 * named volume, a random password (secret), a health check, and a URL that
 * only resolves once the container reports healthy.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import * as random from "@pulumi/random";
import type { DockerDatabaseConfig } from "../config";
import { runningStackStage } from "../config/runningStage";

/** The validated `keel:database.docker` settings, with the names Keel derives (volume, container). */
export type DockerPostgresArgs = Omit<DockerDatabaseConfig, "kind"> & {
    /** `protect` the volume, which holds the data (the container is replaced freely): false only when keel:allowDataLoss names it. */
    protectData: boolean;
};

export class DockerPostgres extends pulumi.ComponentResource {
    static readonly __pulumiType = "keel:database:DockerPostgres";
    /** postgres://user:password@127.0.0.1:port/db, secret, known once the container is healthy. */
    readonly url: pulumi.Output<string>;
    readonly containerId: pulumi.Output<string>;

    constructor(name: string, args: DockerPostgresArgs, opts?: pulumi.ComponentResourceOptions) {
        // The stage rides along for the policy pack (no-docker-database-in-prod judges by it).
        super(DockerPostgres.__pulumiType, name, { stage: runningStackStage() }, opts);
        const password = new random.RandomPassword(`${name}-password`, { length: 32, special: false }, { parent: this });
        const image = new docker.RemoteImage(`${name}-image`, { name: args.image, keepLocally: true }, { parent: this });
        const volume = new docker.Volume(`${name}-data`, { name: args.volumeName }, { parent: this, protect: args.protectData });
        const container = new docker.Container(
            `${name}-container`,
            {
                name: args.containerName,
                image: image.imageId,
                // Secret explicitly: the password must stay encrypted in state whatever the provider reports.
                envs: [
                    pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${password.result}`),
                    `POSTGRES_USER=${args.user}`,
                    `POSTGRES_DB=${args.databaseName}`,
                ],
                // Loopback only: a dev database is nobody else's business.
                ports: [{ internal: 5432, external: args.port, ip: "127.0.0.1" }],
                volumes: [{ volumeName: volume.name, containerPath: "/var/lib/postgresql/data" }],
                healthcheck: {
                    tests: ["CMD-SHELL", `pg_isready -U ${args.user} -d ${args.databaseName}`],
                    interval: "2s",
                    timeout: "5s",
                    retries: 30,
                    startPeriod: "5s",
                },
                // The provider waits for "healthy" before the create completes, so the URL below is usable.
                wait: true,
                waitTimeout: 120,
                restart: "unless-stopped",
                mustRun: true,
            },
            { parent: this, additionalSecretOutputs: ["envs"] },
        );
        this.containerId = container.id;
        this.url = pulumi.secret(
            pulumi.interpolate`postgres://${args.user}:${password.result}@127.0.0.1:${container.ports.apply((p) => p?.[0]?.external ?? args.port)}/${args.databaseName}`,
        );
        this.registerOutputs({ url: this.url, containerId: this.containerId });
    }
}
