/**
 * The backend's image: a pinned reference from config as it is, or built from
 * the Dockerfile by `pulumi up` and pushed (registry.fly.io for Fly, the
 * configured registry for Render). A built image is deployed by digest, so a
 * rollback to an earlier stack version names exactly what ran.
 */
import * as docker from "@pulumi/docker";
import * as pulumi from "@pulumi/pulumi";
import type { ImageSource } from "../config";

export interface BackendImageArgs {
    source: ImageSource;
    /** Where a built image goes: `registry.fly.io/<app>` or `<server>/<repository>`. */
    repository: string;
    registry: { server: string; username: string; password: pulumi.Input<string> };
    /** The tag a build is pushed under (the digest is what is deployed). */
    tag: string;
}

export class BackendImage extends pulumi.ComponentResource {
    /** What the platform runs: the configured reference, or `<repository>@sha256:…` of the build. */
    readonly ref: pulumi.Output<string>;
    readonly built: boolean;

    constructor(name: string, args: BackendImageArgs, opts?: pulumi.ComponentResourceOptions) {
        super("keel:backend:Image", name, {}, opts);
        const s = args.source;
        this.built = s.kind === "build";
        if (s.kind === "prebuilt") {
            this.ref = pulumi.output(s.image);
        } else {
            const image = new docker.Image(
                `${name}-build`,
                {
                    imageName: `${args.repository}:${args.tag}`,
                    build: { context: s.context, dockerfile: s.dockerfile, platform: s.platform },
                    registry: {
                        server: args.registry.server,
                        username: args.registry.username,
                        password: pulumi.secret(args.registry.password),
                    },
                },
                { parent: this },
            );
            this.ref = image.repoDigest;
        }
        this.registerOutputs({ ref: this.ref });
    }
}
