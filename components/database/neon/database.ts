/**
 * NeonBranchDatabase: the app's database on the branch, owned by the app's
 * role. A child branch inherits its parent's databases, which are adopted.
 * A new name renames the database in place (its data stays).
 */
import { guardsData } from "../../dataGuard";
import * as pulumi from "@pulumi/pulumi";
import type { Database } from "@neondatabase/api-client";
import { KeelError } from "../../errors";
import { waitForOperations, waitForRunningOperations } from "../../vendors/neon";
import {
    findDatabase,
    findOrCreate,
    info,
    NeonCommonInputs,
    neonContext,
    readOrGone,
    warnDrift,
    deleteUnlessProtected,
    NeonOnBranchArgs,
    diffOnBranch,
} from "./common";
import { dynamicType, KeelDynamicResource, versioned } from "../../providerContext";

export interface NeonBranchDatabaseInputs extends NeonCommonInputs {
    projectId: string;
    branchId: string;
    name: string;
    ownerName: string;
}

export interface NeonBranchDatabaseOutputs extends NeonBranchDatabaseInputs {
    databaseId: number;
    drift: string[];
}

const ctx = neonContext();

function what(inputs: { name: string; branchId: string }): string {
    return `Neon database '${inputs.name}' on branch ${inputs.branchId}`;
}

function outputs(inputs: NeonBranchDatabaseInputs, db: Database): NeonBranchDatabaseOutputs {
    return { ...inputs, name: db.name, ownerName: db.owner_name, databaseId: db.id, drift: [] };
}

const neonBranchDatabaseUnguarded = versioned<NeonBranchDatabaseInputs, NeonBranchDatabaseOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.name !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(news.name))
                failures.push({ property: "name", reason: "expected a lower-case database name such as app" });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            return diffOnBranch<NeonBranchDatabaseInputs>(olds, news, { inPlace: ["name", "ownerName"], unknownChanges: ["ownerName"] });
        },

        async create(inputs) {
            const api = ctx.client();
            const found = await findOrCreate(
                what(inputs),
                () => findDatabase(api, inputs.projectId, inputs.branchId, inputs.name),
                async () => {
                    const { data } = await api.createProjectBranchDatabase(inputs.projectId, inputs.branchId, {
                        database: { name: inputs.name, owner_name: inputs.ownerName },
                    });
                    info(`created ${what(inputs)} owned by '${inputs.ownerName}'`);
                    await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
                    return data.database;
                },
            );
            let db = found.value;
            if (found.adopted || found.recovered) {
                info(`${what(inputs)} ${found.recovered ? "was created although the response was lost" : "exists"}; adopting it`);
                await waitForRunningOperations(api, inputs.projectId, { branchId: inputs.branchId }, ctx.wait);
                if (db.owner_name !== inputs.ownerName) {
                    info(`making '${inputs.ownerName}' the owner of ${what(inputs)} (was '${db.owner_name}')`);
                    const { data } = await api.updateProjectBranchDatabase(inputs.projectId, inputs.branchId, inputs.name, {
                        database: { owner_name: inputs.ownerName },
                    });
                    await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
                    db = data.database;
                }
            }
            return { id: `${inputs.projectId}/${inputs.branchId}/${db.id}`, outs: outputs(inputs, db) };
        },

        async update(_id, olds, news) {
            if (olds.branchId !== news.branchId || olds.projectId !== news.projectId) {
                throw new KeelError(
                    `${what(news)}: the branch changed from ${olds.branchId}; run 'pulumi up' again to replace the database.`,
                );
            }
            const api = ctx.client();
            let db = (await api.getProjectBranchDatabase(news.projectId, news.branchId, olds.name)).data.database;
            if (db.name !== news.name || db.owner_name !== news.ownerName) {
                info(`updating ${what(olds)}: name '${news.name}', owner '${news.ownerName}'`);
                const { data } = await api.updateProjectBranchDatabase(news.projectId, news.branchId, olds.name, {
                    database: { name: news.name, owner_name: news.ownerName },
                });
                await waitForOperations(api, news.projectId, data.operations, ctx.wait);
                db = data.database;
            }
            return { outs: outputs(news, db) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            const found = await readOrGone(what(props), api.getProjectBranchDatabase(props.projectId, props.branchId, props.name), {
                how: "deleted or renamed outside Keel",
            });
            if (!found) return { id: "" };
            const db = found.data.database;
            const drift: string[] = [];
            if (db.owner_name !== props.ownerName) drift.push(`~ ownerName: '${props.ownerName}' -> '${db.owner_name}'`);
            warnDrift(what(props), drift, " (changed outside Keel)");
            return { id, props: { ...outputs(props, db), drift } };
        },

        async delete(_id, props) {
            await deleteUnlessProtected(ctx, what(props), props, (api) =>
                api.deleteProjectBranchDatabase(props.projectId, props.branchId, props.name),
            );
        },
    },
);

/** Holds data: a replacement the stack has not allowed is refused (components/dataGuard.ts). */
export const neonBranchDatabaseProvider = guardsData(neonBranchDatabaseUnguarded);

export interface NeonBranchDatabaseArgs extends NeonOnBranchArgs {
    name: pulumi.Input<string>;
    ownerName: pulumi.Input<string>;
}

export class NeonBranchDatabase extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("NeonBranchDatabase");
    declare readonly name: pulumi.Output<string>;
    declare readonly ownerName: pulumi.Output<string>;
    declare readonly databaseId: pulumi.Output<number>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: NeonBranchDatabaseArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            neonBranchDatabaseProvider,
            NeonBranchDatabase.__pulumiType,
            name,
            { ...args, databaseId: undefined, drift: undefined },
            opts,
        );
    }
}
