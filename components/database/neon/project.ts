/**
 * NeonProject: the app's one Neon project. The stack that owns it (normally
 * prod) finds it by name or creates it; every other stack only looks it up by
 * name and never changes or deletes it.
 */
import { guardsData } from "../../dataGuard";
import * as pulumi from "@pulumi/pulumi";
import type { ProjectListItem } from "@neondatabase/api-client";
import { KeelError } from "../../errors";
import { waitForOperations } from "../../vendors/neon";
import {
    changed,
    defaultBranch,
    findOrCreate,
    findProjects,
    info,
    isUnknown,
    NeonCommonInputs,
    neonContext,
    orMissing,
    refuseIfProtected,
    readOrGone,
    warnDrift,
    NeonCommonArgs,
} from "./common";
import { dynamicType, KeelDynamicResource, versioned } from "../../providerContext";

export interface NeonProjectInputs extends NeonCommonInputs {
    name: string;
    /** This stack creates, renames and may delete it; otherwise it is looked up only. */
    owned: boolean;
    regionId: string;
    pgVersion: number;
    orgId?: string;
    /** For a project this stack creates: names of its default branch, role and database. */
    defaultBranchName?: string;
    roleName?: string;
    databaseName?: string;
}

export interface NeonProjectOutputs extends NeonProjectInputs {
    projectId: string;
    defaultBranchId: string;
    /** What `pulumi refresh` found changed outside Keel; empty when nothing. */
    drift: string[];
}

const ctx = neonContext();

function what(inputs: { name: string }, id?: string): string {
    return `Neon project '${inputs.name}'${id ? ` (${id})` : ""}`;
}

function single(found: ProjectListItem[], inputs: NeonProjectInputs): ProjectListItem | undefined {
    if (found.length > 1) {
        throw new KeelError(
            `${found.length} Neon projects are named '${inputs.name}' (${found.map((p) => p.id).join(", ")}); Keel finds the project by name. ` +
                `Rename or delete the extra ones in the Neon console, or choose another name: ` +
                `npm run pulumi -- config set --path keel:database.neon.project.name <name> --stack ${inputs.stack}.`,
        );
    }
    return found[0];
}

function checkPlacement(project: { id: string; region_id: string; pg_version: number }, inputs: NeonProjectInputs): void {
    const problems: string[] = [];
    if (project.region_id !== inputs.regionId)
        problems.push(`its region is ${project.region_id}, the config says ${inputs.regionId} (keel:database.neon.project.regionId)`);
    if (project.pg_version !== inputs.pgVersion)
        problems.push(
            `its PostgreSQL is ${project.pg_version}, the config says ${inputs.pgVersion} (keel:database.neon.project.pgVersion)`,
        );
    if (problems.length) {
        throw new KeelError(
            `${what(inputs, project.id)} exists, but ${problems.join(" and ")}. A project's region and PostgreSQL version cannot be changed in place: ` +
                `set the config to match the project, or choose another project name for a new one.`,
        );
    }
}

async function lookup(inputs: NeonProjectInputs): Promise<NeonProjectOutputs> {
    const api = ctx.client();
    const project = single(await findProjects(api, inputs.name, inputs.orgId), inputs);
    if (!project) {
        throw new KeelError(
            `${what(inputs)} does not exist, and the ${inputs.stack} stack does not own it: the stack whose keel:database.neon.project.ownedBy ` +
                `names its stage creates it (normally prod). Run 'pulumi up' on that stack first.`,
        );
    }
    checkPlacement(project, inputs);
    const branch = await defaultBranch(api, project.id);
    return { ...inputs, projectId: project.id, defaultBranchId: branch.id, drift: [] };
}

async function createOwned(inputs: NeonProjectInputs): Promise<NeonProjectOutputs> {
    const api = ctx.client();
    const found = await findOrCreate<{ id: string; region_id: string; pg_version: number }>(
        what(inputs),
        async () => single(await findProjects(api, inputs.name, inputs.orgId), inputs),
        async () => {
            const { data } = await api.createProject({
                project: {
                    name: inputs.name,
                    region_id: inputs.regionId,
                    pg_version: inputs.pgVersion,
                    ...(inputs.orgId ? { org_id: inputs.orgId } : {}),
                    ...(inputs.defaultBranchName || inputs.roleName || inputs.databaseName
                        ? { branch: { name: inputs.defaultBranchName, role_name: inputs.roleName, database_name: inputs.databaseName } }
                        : {}),
                },
            });
            // The response also carries a connection URI with a password: none of it is kept.
            info(`created ${what(inputs, data.project.id)} in ${data.project.region_id}; waiting for Neon to finish setting it up`);
            await waitForOperations(api, data.project.id, data.operations, ctx.wait);
            return data.project;
        },
    );
    const project = found.value;
    if (found.adopted) info(`${what(inputs, project.id)} exists; adopting it`);
    if (found.recovered) info(`${what(inputs, project.id)} was created although the response was lost; adopting it`);
    checkPlacement(project, inputs);
    const branch = await defaultBranch(api, project.id);
    return { ...inputs, projectId: project.id, defaultBranchId: branch.id, drift: [] };
}

const neonProjectUnguarded = versioned<NeonProjectInputs, NeonProjectOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.name !== "string" || !news.name)
                failures.push({ property: "name", reason: "expected the Neon project's name" });
            if (typeof news.regionId !== "string" || !news.regionId)
                failures.push({ property: "regionId", reason: "expected a Neon region such as aws-us-east-2" });
            if (!Number.isInteger(news.pgVersion) || news.pgVersion < 14 || news.pgVersion > 18)
                failures.push({ property: "pgVersion", reason: "expected a PostgreSQL major version from 14 to 18" });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces: string[] = [];
            // A project that another stack owns is looked up by name: another name is another project.
            if (!news.owned && changed(olds.name, news.name)) replaces.push("name");
            const keys: (keyof NeonProjectInputs)[] = [
                "name",
                "owned",
                "regionId",
                "pgVersion",
                "orgId",
                "stack",
                "protect",
                "allowDelete",
            ];
            const changes = replaces.length > 0 || keys.some((k) => changed(olds[k], news[k]) || isUnknown(news[k]));
            return { changes, replaces, deleteBeforeReplace: false };
        },

        async create(inputs) {
            const outs = inputs.owned ? await createOwned(inputs) : await lookup(inputs);
            return { id: outs.projectId, outs };
        },

        async update(id, olds, news) {
            if (!news.owned) {
                // Never mutate a project this stack does not own: check it is still the one, by name.
                const outs = await lookup(news);
                if (outs.projectId !== id) {
                    throw new KeelError(`${what(news)} is now ${outs.projectId}, not ${id}; run 'pulumi refresh', then 'pulumi up' again.`);
                }
                return { outs };
            }
            if (olds.regionId !== news.regionId || olds.pgVersion !== news.pgVersion) {
                throw new KeelError(
                    `${what(olds, id)} is in ${olds.regionId} with PostgreSQL ${olds.pgVersion}; the config now says ${news.regionId} and ${news.pgVersion}. ` +
                        `Neither can be changed in place: set keel:database.neon.project.regionId and pgVersion back, or name a new project.`,
                );
            }
            const api = ctx.client();
            if (olds.name !== news.name) {
                info(`renaming Neon project ${id} from '${olds.name}' to '${news.name}'`);
                const { data } = await api.updateProject(id, { project: { name: news.name } });
                await waitForOperations(api, id, data.operations, ctx.wait);
            }
            const branch = await defaultBranch(api, id);
            return { outs: { ...news, projectId: id, defaultBranchId: branch.id, drift: [] } };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            const found = await readOrGone(what(props, id), api.getProject(id), { recreated: false });
            if (!found) return { id: "" };
            const project = found.data.project;
            const drift: string[] = [];
            if (project.name !== props.name) drift.push(`~ name: '${props.name}' -> '${project.name}' (renamed outside Keel)`);
            if (project.region_id !== props.regionId) drift.push(`~ regionId: ${props.regionId} -> ${project.region_id}`);
            if (project.pg_version !== props.pgVersion) drift.push(`~ pgVersion: ${props.pgVersion} -> ${project.pg_version}`);
            warnDrift(`Neon project ${id}`, drift);
            const branch = await orMissing(defaultBranch(api, id));
            return {
                id,
                props: {
                    ...props,
                    name: project.name,
                    regionId: project.region_id,
                    pgVersion: project.pg_version,
                    defaultBranchId: branch?.id ?? props.defaultBranchId,
                    drift,
                },
            };
        },

        async delete(id, props) {
            if (!props.owned) {
                info(`leaving ${what(props, id)} alone: the ${props.stack} stack only looks it up; the stack that owns it manages it.`);
                return;
            }
            refuseIfProtected(`${what(props, id)} and every branch in it`, props);
            const api = ctx.client();
            info(`deleting ${what(props, id)}`);
            await orMissing(api.deleteProject(id));
        },
    },
);

/** Holds data: a replacement the stack has not allowed is refused (components/dataGuard.ts). */
export const neonProjectProvider = guardsData(neonProjectUnguarded);

export interface NeonProjectArgs extends NeonCommonArgs {
    name: pulumi.Input<string>;
    owned: pulumi.Input<boolean>;
    regionId: pulumi.Input<string>;
    pgVersion: pulumi.Input<number>;
    orgId?: pulumi.Input<string>;
    defaultBranchName?: pulumi.Input<string>;
    roleName?: pulumi.Input<string>;
    databaseName?: pulumi.Input<string>;
}

export class NeonProject extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("NeonProject");
    declare readonly projectId: pulumi.Output<string>;
    declare readonly defaultBranchId: pulumi.Output<string>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: NeonProjectArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            neonProjectProvider,
            NeonProject.__pulumiType,
            name,
            { ...args, projectId: undefined, defaultBranchId: undefined, drift: undefined },
            opts,
        );
    }
}
