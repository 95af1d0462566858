/**
 * The NeonDatabase component under Pulumi's mocks: which resources it
 * declares with which inputs and options (protect, retainOnDelete, secret
 * outputs, order), and the two URLs it hands out, both secret.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { NeonDatabase, NeonDatabaseArgs } from "../../components/database/neon";
import { setNeonEnv } from "../support/fakeNeon";

interface Registered {
    type: string;
    name: string;
    inputs: any;
    opts?: pulumi.CustomResourceOptions;
}

const PASSWORD = "npg_p@ss/w:rd";
const HOST = "ep-cool-darkness-123456.us-east-2.aws.neon.tech";

const PROD: NeonDatabaseArgs = {
    stack: "prod",
    project: { name: "keel-app", owned: true, regionId: "aws-us-east-2", pgVersion: 16 },
    branch: { name: "main", protected: true, schemaOnly: false },
    endpoint: { minCu: 0.25, maxCu: 2, suspendTimeoutSeconds: -1 },
    roleName: "app",
    databaseName: "app",
    protect: true,
};

const STAGING: NeonDatabaseArgs = {
    stack: "staging",
    project: { name: "keel-app", owned: false, regionId: "aws-us-east-2", pgVersion: 16 },
    branch: { name: "staging", parent: "main", protected: false, schemaOnly: true },
    endpoint: { minCu: 0.25, maxCu: 1, suspendTimeoutSeconds: 300 },
    roleName: "app",
    databaseName: "appdb",
    protect: false,
};

function valueOf<T>(o: pulumi.Output<T>): Promise<T> {
    return new Promise((resolve) => o.apply((v) => resolve(v)));
}

const isSecret = (o: pulumi.Output<unknown>): Promise<boolean> => (o as any).isSecret;

async function declare(args: NeonDatabaseArgs): Promise<{ db: NeonDatabase; registered: Registered[] }> {
    const registered: Registered[] = [];
    pulumi.runtime.setMocks(
        {
            newResource(a) {
                if (!a.custom) return { id: "", state: {} };
                const entry = registered.find((r) => r.name === a.name);
                if (entry) entry.inputs = a.inputs;
                else registered.push({ type: a.type, name: a.name, inputs: a.inputs });
                const t = a.type.split(":").pop();
                const outs: Record<string, any> = { ...a.inputs };
                if (t === "NeonProject") Object.assign(outs, { projectId: "proj-1", defaultBranchId: "br-main-1" });
                if (t === "NeonBranch") Object.assign(outs, { branchId: "br-1", isDefault: args.branch.parent === undefined });
                if (t === "NeonEndpoint") Object.assign(outs, { endpointId: "ep-cool-darkness-123456", host: HOST });
                if (t === "NeonRole") Object.assign(outs, { password: PASSWORD });
                if (t === "NeonBranchDatabase") Object.assign(outs, { databaseId: 7 });
                return { id: `${a.name}-id`, state: outs };
            },
            call: (a) => a.inputs,
        },
        "keel",
        args.stack,
        false,
    );
    const db = new NeonDatabase("db", args, {
        transformations: [
            (t) => {
                // Applies to the component too: keep its children only.
                if (t.type === "keel:database:NeonDatabase") return undefined;
                registered.push({ type: t.type, name: t.name, inputs: undefined, opts: t.opts as pulumi.CustomResourceOptions });
                return undefined;
            },
        ],
    });
    await valueOf(db.directUrl);
    return { db, registered };
}

describe("NeonDatabase component (mocks)", () => {
    let restoreEnv: () => void;
    before(() => {
        restoreEnv = setNeonEnv({ NEON_API_KEY: "napi_must_not_be_serialized" });
    });
    after(() => restoreEnv());

    it("prod: five Neon resources in order, all protected and retained, the password only as a secret output", async () => {
        const { db, registered } = await declare(PROD);
        assert.deepEqual(
            registered.map((r) => [r.type, r.name]),
            [
                ["pulumi-nodejs:dynamic/keel:NeonProject", "db-project"],
                ["pulumi-nodejs:dynamic/keel:NeonBranch", "db-branch"],
                ["pulumi-nodejs:dynamic/keel:NeonEndpoint", "db-endpoint"],
                ["pulumi-nodejs:dynamic/keel:NeonRole", "db-role"],
                ["pulumi-nodejs:dynamic/keel:NeonBranchDatabase", "db-db"],
            ],
        );
        for (const r of registered) {
            assert.equal(r.opts?.protect, true, `${r.name} protect`);
            assert.equal(r.opts?.retainOnDelete, true, `${r.name} retainOnDelete`);
            assert.match(r.inputs.__provider, /exports\.handler/, "the serialized provider travels in the inputs");
            assert.ok(
                !JSON.stringify(r.inputs).includes("napi_must_not_be_serialized"),
                `${r.name}'s inputs (with its serialized provider)`,
            );
            assert.ok(!JSON.stringify(r.inputs).includes(PASSWORD), `${r.name}'s inputs`);
        }
        const [project, branch, endpoint, role, database] = registered;
        assert.deepEqual(role.opts?.additionalSecretOutputs, ["password"]);
        assert.deepEqual(
            [
                project.inputs.owned,
                project.inputs.defaultBranchName,
                project.inputs.roleName,
                project.inputs.databaseName,
                project.inputs.protect,
                project.inputs.allowDelete,
            ],
            [true, "main", "app", "app", true, false],
        );
        assert.deepEqual(
            [branch.inputs.projectId, branch.inputs.parent, branch.inputs.protected, branch.inputs.schemaOnly],
            ["proj-1", undefined, true, false],
        );
        assert.deepEqual(
            [endpoint.inputs.branchId, endpoint.inputs.minCu, endpoint.inputs.maxCu, endpoint.inputs.suspendTimeoutSeconds],
            ["br-1", 0.25, 2, -1],
        );
        assert.deepEqual([role.inputs.name, role.inputs.resetPasswordOnAdopt], ["app", false]);
        assert.deepEqual([database.inputs.name, database.inputs.ownerName], ["app", "app"]);

        assert.equal(await valueOf(db.directUrl), `postgresql://app:npg_p%40ss%2Fw%3Ard@${HOST}/app?sslmode=require`);
        assert.equal(
            await valueOf(db.pooledUrl),
            `postgresql://app:npg_p%40ss%2Fw%3Ard@ep-cool-darkness-123456-pooler.us-east-2.aws.neon.tech/app?sslmode=require`,
        );
        assert.equal(await isSecret(db.directUrl), true);
        assert.equal(await isSecret(db.pooledUrl), true);
        assert.deepEqual(
            [await valueOf(db.projectId), await valueOf(db.branchId), await valueOf(db.endpointId)],
            ["proj-1", "br-1", "ep-cool-darkness-123456"],
        );
    });

    it("staging: a child branch (schema-only), what holds data protected but not retained, the inherited role gets its own password", async () => {
        const { db, registered } = await declare(STAGING);
        // The data guard is on every stage: only the endpoint (compute, no data) is free to go.
        for (const r of registered)
            assert.deepEqual([r.opts?.protect, r.opts?.retainOnDelete], [!r.name.endsWith("-endpoint"), false], r.name);
        for (const r of registered.filter((r) => !r.name.endsWith("-endpoint")))
            assert.deepEqual(r.inputs.dataGuard, { name: r.name, allowed: false }, r.name);
        const [project, branch, , role, database] = registered;
        assert.deepEqual([project.inputs.owned, project.inputs.defaultBranchName], [false, undefined]);
        assert.deepEqual([branch.inputs.name, branch.inputs.parent, branch.inputs.schemaOnly], ["staging", "main", true]);
        assert.equal(role.inputs.resetPasswordOnAdopt, true);
        assert.equal(database.inputs.name, "appdb");
        assert.match(await valueOf(db.directUrl), new RegExp(`@${HOST.replace(/\./g, "\\.")}/appdb\\?sslmode=require$`));
        assert.ok(!(await valueOf(db.directUrl)).includes("-pooler"), "migrations never get the pooler host");
    });

    it("allowDelete lifts protect and retainOnDelete, and tells the providers", async () => {
        const { registered } = await declare({ ...PROD, allowDelete: true });
        for (const r of registered) {
            assert.deepEqual([r.opts?.protect, r.opts?.retainOnDelete], [false, false], r.name);
            assert.deepEqual([r.inputs.protect, r.inputs.allowDelete], [true, true], r.name);
        }
    });
});
