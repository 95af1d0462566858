/**
 * What the end-to-end tests of the cloud stacks (staging, prod) share: a Neon
 * database whose endpoint is the test cluster, the backend's public health URL
 * answered by the test, secret values to search the state for, and the stack
 * file as the engine here can run it.
 */
import { randomBytes } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import type { Stack } from "@pulumi/pulumi/automation";
import { EngineWorkspace, requireEngine, ROOT } from "./engine";
import { FakeNeon, type FakeProject } from "./fakeNeon";
import { PostgresCluster, testCluster } from "./postgres";
import { HealthServer } from "../../tools/healthServer";

/** tools/healthServer.ts, shared with bench:rollback. */
export { HealthServer };

export function secretValue(prefix: string): string {
    return `${prefix}${randomBytes(12).toString("hex")}`;
}

/**
 * The database a stack file's Neon role and database name stand for, on the test
 * cluster: the role (LOGIN, with the password the fake Neon hands out) and a
 * database of the test's own owned by it.
 */
export async function neonDatabaseOnCluster(cluster: PostgresCluster, role: string, password: string, database: string): Promise<string> {
    await cluster.sql(
        "postgres",
        `DO $$ BEGIN
            IF EXISTS (SELECT FROM pg_roles WHERE rolname = '${role}') THEN ALTER ROLE "${role}" LOGIN PASSWORD '${password}';
            ELSE CREATE ROLE "${role}" LOGIN PASSWORD '${password}'; END IF;
        END $$`,
    );
    await cluster.sql("postgres", `DROP DATABASE IF EXISTS "${database}"`);
    await cluster.sql("postgres", `CREATE DATABASE "${database}" OWNER "${role}"`);
    return cluster.url(database);
}

/**
 * A stack file's config as the engine here runs it: without keel:frontend and
 * keel:github (their resources need provider plugins that cannot be downloaded;
 * mocks cover them), on the test's database, with the health gate on `healthUrl`.
 */
export function forTheEngine(config: Record<string, any>, options: { databaseName: string; healthUrl: string }): void {
    delete config["keel:frontend"];
    delete config["keel:github"];
    config["keel:database"].neon.databaseName = options.databaseName;
    if (config["keel:backend"]) config["keel:backend"].healthCheck = { ...config["keel:backend"].healthCheck, url: options.healthUrl };
}

/** The repository's staging stack file's config, as users have it. */
export function stagingConfig(): Record<string, any> {
    return parse(fs.readFileSync(path.join(ROOT, "Pulumi.staging.yaml"), "utf8")).config;
}

/** Prod's Neon project as prod's `pulumi up` leaves it: its default branch named and protected, the role and database of its stack file. */
export function seedProd(neon: FakeNeon): FakeProject {
    const prod = parse(fs.readFileSync(path.join(ROOT, "Pulumi.prod.yaml"), "utf8")).config["keel:database"].neon;
    const project = neon.seedProject(prod.project.name, {
        region: prod.project.regionId,
        pgVersion: prod.project.pgVersion,
        branchName: prod.branch.name,
        roleName: prod.roleName,
        databaseName: prod.databaseName,
    });
    neon.branch(project.id, prod.branch.name)!.protected = !!prod.branch.protected;
    return project;
}

/** What both halves share: the staging stack of a workspace copy on a Neon branch of prod's seeded project, whose endpoint is the test cluster. */
export interface NeonStaging {
    cluster: PostgresCluster;
    neon: FakeNeon;
    prod: FakeProject;
    mainBranchId: string;
    health: HealthServer;
    ws: EngineWorkspace;
    stack: Stack;
}

/**
 * Starts it: the stack file made runnable here, then `backend` edits its keel:backend; `credentials`
 * are the backend vendor's (secret) token and API URL keys, set as stack config as a user would.
 */
export async function neonStaging(
    ctx: Mocha.Context,
    o: {
        neonKey: string;
        rolePassword: string;
        stripeKey: string;
        databaseName: string;
        backend: (c: Record<string, any>, health: HealthServer) => void;
        credentials: Record<string, string>;
    },
): Promise<NeonStaging> {
    const cli = requireEngine(ctx);
    const neonFile = stagingConfig()["keel:database"].neon;
    const cluster = await testCluster();
    await neonDatabaseOnCluster(cluster, neonFile.roleName, o.rolePassword, o.databaseName);
    const neon = await FakeNeon.start({ apiKey: o.neonKey, endpointHost: cluster.hostPort, rolePassword: o.rolePassword });
    const prod = seedProd(neon);
    const health = await HealthServer.start();
    // node-postgres verifies sslmode=require like verify-full: the providers trust the cluster's CA.
    const ws = EngineWorkspace.create(cli, { NODE_EXTRA_CA_CERTS: cluster.caFile });
    ws.editStackFile("staging", (c) => {
        forTheEngine(c, { databaseName: o.databaseName, healthUrl: health.url });
        c["keel:backend"].healthCheck = { ...c["keel:backend"].healthCheck, timeoutSeconds: 5, intervalSeconds: 1 };
        o.backend(c, health);
    });
    const stack = await ws.stack("staging");
    await stack.setConfig("keel:neonApiKey", { value: o.neonKey, secret: true });
    await stack.setConfig("keel:neonApiUrl", { value: neon.url });
    for (const [key, value] of Object.entries(o.credentials)) await stack.setConfig(key, { value, secret: /Token$|Key$/.test(key) });
    await stack.setConfig("keel:backendSecrets", { value: JSON.stringify({ STRIPE_SECRET_KEY: o.stripeKey }), secret: true });
    return { cluster, neon, prod, mainBranchId: neon.branch(prod.id, neonFile.branch.parent)!.id, health, ws, stack };
}

/** keel:backend switched to Render: the same port, env and health check; the fly section gives way to render's. */
export function switchToRender(config: Record<string, any>, o: { image: string; name: string; ownerId: string }): void {
    const { fly: _fly, ...common } = config["keel:backend"];
    config["keel:backend"] = {
        ...common,
        kind: "render",
        image: o.image,
        render: { name: o.name, ownerId: o.ownerId, deployTimeoutSeconds: 60 },
    };
}
