/**
 * The program under Pulumi's mocks: config is validated before any resource is
 * declared, and the schema resource receives its database URL as a secret.
 */
import { strict as assert } from "assert";
import * as pulumi from "@pulumi/pulumi";
import { ConfigError } from "../components/errors";
import { migrationsDir } from "./support/migrationsDir";

interface Registered {
    type: string;
    name: string;
    inputs: any;
}

const SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270";
const URL = "postgres://app:hunter2-password@db.internal:5432/app";

let registered: Registered[] = [];

function useStack(stack: string, config: Record<string, string>, secretKeys: string[]): void {
    registered = [];
    pulumi.runtime.setMocks(
        {
            newResource(args) {
                registered.push({ type: args.type, name: args.name, inputs: args.inputs });
                return { id: `${args.name}-id`, state: { ...args.inputs, version: "2", fingerprint: "f".repeat(64), applied: [], drift: [] } };
            },
            call: (args) => args.inputs,
        },
        "keel",
        stack,
        false,
    );
    pulumi.runtime.setAllConfig(config, secretKeys);
}

async function runProgram(): Promise<Record<string, pulumi.Output<unknown>>> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const program: () => Promise<Record<string, pulumi.Output<unknown>>> = require("../index");
    return program();
}

function valueOf<T>(o: pulumi.Input<T>): Promise<T> {
    return new Promise((resolve) => pulumi.output(o).apply((v) => resolve(v as T)));
}

function isSecretOutput(o: pulumi.Output<unknown>): Promise<boolean> {
    return (o as any).isSecret as Promise<boolean>;
}

describe("program (mocks)", () => {
    const dir = migrationsDir({
        "0001_accounts.sql": "CREATE TABLE accounts (id int PRIMARY KEY);",
        "0002_drop_legacy.sql": "-- keel:allow-destructive\nDROP TABLE legacy;",
    });

    it("declares the Schema component and its SchemaMigrations resource with the URL as a secret", async () => {
        useStack("staging", { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir }) }, ["keel:databaseUrl"]);
        const outputs = await runProgram();
        // Registration is asynchronous: an output of the resource resolves after it.
        assert.equal(await valueOf(outputs.schemaVersion), "2");

        const types = registered.map((r) => r.type);
        assert.deepEqual(types, ["keel:schema:Schema", "pulumi-nodejs:dynamic/keel:SchemaMigrations"]);
        const migrations = registered[1];
        assert.equal(migrations.name, "schema-migrations");

        // The URL reaches the resource as a secret, never in plain text.
        const url = migrations.inputs.databaseUrl;
        assert.equal(url?.[`4dabf18193072939515e22adb298388d`], SECRET_SIG, `databaseUrl must be a secret, got ${JSON.stringify(url)}`);
        assert.equal(url.value, URL);
        const plain = JSON.stringify({ ...migrations.inputs, databaseUrl: undefined });
        assert.ok(!plain.includes("hunter2-password"), "no other input may carry the password (the serialized provider included)");

        // Lint facts and settings for policies, from the files and the stage defaults.
        assert.deepEqual(
            migrations.inputs.migrations.map((m: any) => [m.version, m.name, m.allowDestructive, m.destructive]),
            [
                ["1", "accounts", false, []],
                ["2", "drop_legacy", true, ["line 2: DROP TABLE legacy"]],
            ],
        );
        assert.equal(migrations.inputs.migrationsDir, dir);
        assert.deepEqual(migrations.inputs.settings, {
            historySchema: "public",
            lockTimeout: "5s",
            statementTimeout: "5min",
            lockWaitSeconds: 120,
            allowMissing: false,
            outOfOrder: false,
        });
        assert.match(migrations.inputs.appliedBy, /^staging:/);

        assert.equal(await valueOf(outputs.stage), "staging");
        assert.equal(await isSecretOutput(outputs.databaseUrl), true);
    });

    it("uses DATABASE_URL on dev, still as a secret", async () => {
        const saved = process.env.DATABASE_URL;
        process.env.DATABASE_URL = URL;
        try {
            useStack("dev", { "keel:migrations": JSON.stringify({ dir }) }, []);
            const outputs = await runProgram();
            await valueOf(outputs.schemaVersion);
            assert.equal(await isSecretOutput(outputs.databaseUrl), true);
            assert.equal(registered[1].inputs.databaseUrl.value, URL);
            assert.equal(registered[1].inputs.settings.lockTimeout, "10s");
        } finally {
            if (saved === undefined) delete process.env.DATABASE_URL;
            else process.env.DATABASE_URL = saved;
        }
    });

    it("reports every config problem at once and declares nothing", async () => {
        useStack("prod", { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir, lockTimeout: "forever" }) }, []);
        await assert.rejects(runProgram(), (err: Error) => {
            assert.ok(err instanceof ConfigError);
            assert.equal(err.problems.length, 2);
            assert.match(err.message, /keel:databaseUrl: is stored in plain text/);
            assert.match(err.message, /keel:migrations\.lockTimeout: expected a duration/);
            assert.ok(!err.message.includes("hunter2-password"));
            return true;
        });
        assert.deepEqual(registered, []);
    });

    it("fails before declaring anything when a migration file is bad", async () => {
        const bad = migrationsDir({ "0001_ok.sql": "SELECT 1;", "0002_bad.sql": "CREATE TABL x ();" });
        useStack("staging", { "keel:databaseUrl": URL, "keel:migrations": JSON.stringify({ dir: bad }) }, ["keel:databaseUrl"]);
        await assert.rejects(runProgram(), /0002_bad\.sql:1:8: SQL syntax error/);
        assert.deepEqual(registered, []);
    });
});
