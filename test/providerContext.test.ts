/** What every dynamic provider shares: the shape of its outputs over time, and the stand-in the engine loads. */
import { strict as assert } from "assert";
import { flyAppProvider } from "../components/backend/fly/app";
import { flyCertificateProvider } from "../components/backend/fly/certificate";
import { flyIpAddressesProvider } from "../components/backend/fly/ips";
import { flyMachinesProvider } from "../components/backend/fly/machines";
import { flySecretsProvider } from "../components/backend/fly/secrets";
import { healthGateProvider } from "../components/backend/healthGate";
import { renderCustomDomainProvider } from "../components/backend/render/customDomain";
import { renderServiceProvider } from "../components/backend/render/service";
import { neonBranchProvider } from "../components/database/neon/branch";
import { neonBranchDatabaseProvider } from "../components/database/neon/database";
import { neonEndpointProvider } from "../components/database/neon/endpoint";
import { neonProjectProvider } from "../components/database/neon/project";
import { neonRoleProvider } from "../components/database/neon/role";
import * as fs from "fs";
import * as path from "path";
import { standInSource, StateShape, upgradeOutputs, versioned } from "../components/providerContext";
import { schemaMigrationsProvider } from "../components/schema/provider";

const PROVIDERS = {
    schemaMigrationsProvider,
    neonProjectProvider,
    neonBranchProvider,
    neonEndpointProvider,
    neonBranchDatabaseProvider,
    neonRoleProvider,
    flyAppProvider,
    flyIpAddressesProvider,
    flyCertificateProvider,
    flySecretsProvider,
    flyMachinesProvider,
    renderServiceProvider,
    renderCustomDomainProvider,
    healthGateProvider,
};

describe("state shapes", () => {
    const shape: StateShape = {
        version: 3,
        upgrades: {
            0: ({ url, ...o }) => ({ ...o, endpoint: url }),
            // 1 -> 2 changed nothing in the outputs.
            2: (o) => ({ ...o, tags: o.tags ?? [] }),
        },
    };

    it("upgrades outputs of every older shape step by step, and stamps the current one", () => {
        assert.deepEqual(upgradeOutputs(shape, { url: "u" }), { endpoint: "u", tags: [], stateVersion: 3 });
        assert.deepEqual(upgradeOutputs(shape, { endpoint: "u", stateVersion: 2 }), { endpoint: "u", tags: [], stateVersion: 3 });
        assert.deepEqual(upgradeOutputs(shape, { endpoint: "u", tags: ["a"], stateVersion: 3 }), {
            endpoint: "u",
            tags: ["a"],
            stateVersion: 3,
        });
    });

    it("refuses outputs a newer Keel wrote, saying what to do", () => {
        assert.throws(
            () => upgradeOutputs(shape, { stateVersion: 4 }),
            /written by a newer Keel \(state shape 4, this Keel knows up to 3\): update Keel/,
        );
    });

    it("a versioned provider sees upgraded outputs in diff, update, read and delete, and stamps what it returns", async () => {
        const seen: Record<string, unknown> = {};
        const p = versioned<any, any>(shape, {
            async create() {
                return { id: "x", outs: { endpoint: "e" } };
            },
            async diff(_id, olds) {
                seen.diff = olds;
                return { changes: false };
            },
            async update(_id, olds) {
                seen.update = olds;
                return { outs: { endpoint: "e2" } };
            },
            async read(id, props) {
                seen.read = props;
                return { id, props };
            },
            async delete(_id, props) {
                seen.delete = props;
            },
        });
        assert.equal((await p.create!({})).outs.stateVersion, 3);
        const old = { url: "u" };
        await p.diff!("x", old, {});
        assert.equal((await p.update!("x", old, {})).outs.stateVersion, 3);
        assert.equal((await p.read!("x", old)).props!.stateVersion, 3);
        await p.delete!("x", old);
        for (const k of ["diff", "update", "read", "delete"]) assert.deepEqual(seen[k], { endpoint: "u", tags: [], stateVersion: 3 }, k);
    });

    it("every Keel provider is versioned: outputs a newer Keel wrote are refused before anything is done", async () => {
        for (const [name, provider] of Object.entries(PROVIDERS)) {
            const p = provider as any;
            assert.ok(p.diff || p.read, name);
            const method = p.diff ? () => p.diff("id", { stateVersion: 99 }, {}) : () => p.read("id", { stateVersion: 99 });
            await assert.rejects(async () => method(), /written by a newer Keel/, name);
        }
    });
});

describe("the stand-in the engine loads", () => {
    it("names only files of the project that exist (no stale file name), and a module that exists", () => {
        const root = path.resolve(__dirname, "..");
        for (const [name, provider] of Object.entries(PROVIDERS)) {
            const text = standInSource(provider);
            const files = [...text.matchAll(/[\w./-]+\.(?:ts|js)\b/g)].map((m) => m[0]);
            assert.ok(files.length > 0, name);
            for (const f of files) assert.ok(fs.existsSync(path.join(root, f)), `${name}'s stand-in names ${f}, which does not exist`);
            const [, moduleId] = /\.load\("([^"]+)"\)\["([^"]+)"\]/.exec(text) ?? [];
            assert.ok(moduleId && fs.existsSync(path.join(root, `${moduleId}.ts`)), `${name}: ${moduleId}`);
        }
    });
});
