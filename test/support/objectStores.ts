/**
 * Object-store servers for tests (tools/objectStores.ts starts them). Without a
 * server's binary the test skips with one line; with CI=true it fails instead,
 * since CI builds them (npm run stores:build) as it builds the Pulumi CLI.
 * A server that is there but does not start is a failure either way.
 */
import * as path from "path";
import { BUILD_COMMAND, findStoreBinary, ObjectStoreServer, startObjectStore, StartOptions, StoreKind } from "../../tools/objectStores";
import { ROOT } from "./repoRoot";

export type { ObjectStoreServer, StoreKind };

/** Why the server for `kind` cannot be started here, or undefined when it can. */
export function missingObjectStore(kind: StoreKind): string | undefined {
    switch (kind) {
        case "s3":
            return findStoreBinary("versitygw")
                ? undefined
                : `S3 tests need versitygw (${BUILD_COMMAND} builds the pinned one into .keel/bin; none there or on PATH)`;
        case "gs":
            return findStoreBinary("fake-gcs-server")
                ? undefined
                : `GCS tests need fake-gcs-server (${BUILD_COMMAND} builds the pinned one into .keel/bin; none there or on PATH)`;
        case "azblob":
            try {
                require.resolve("azurite/package.json", { paths: [ROOT] });
                return undefined;
            } catch {
                return `Azure Blob tests need Azurite (a devDependency: npm ci installs it; none in ${path.join(ROOT, "node_modules")})`;
            }
    }
}

/** A started server of this kind, or a skip (a failure under CI=true) saying why there is none. */
export async function requireObjectStore(ctx: Mocha.Context, kind: StoreKind, opts?: StartOptions): Promise<ObjectStoreServer> {
    const why = missingObjectStore(kind);
    if (why) {
        if (process.env.CI === "true") throw new Error(`CI=true: ${why}`);
        console.log(`    skip: ${why}`);
        ctx.skip();
    }
    return startObjectStore(kind, opts);
}

export const requireS3Server = (ctx: Mocha.Context, opts?: StartOptions) => requireObjectStore(ctx, "s3", opts);
export const requireGcsServer = (ctx: Mocha.Context, opts?: StartOptions) => requireObjectStore(ctx, "gs", opts);
export const requireAzuriteServer = (ctx: Mocha.Context, opts?: StartOptions) => requireObjectStore(ctx, "azblob", opts);
