/**
 * NeonBranch: the stack's branch. Without a parent it is the project's default
 * branch (prod), renamed to the configured name and protected where the plan
 * allows; otherwise a child of the parent branch found by name (staging, dev),
 * schema-only when asked, which `pulumi destroy` deletes.
 */
import { guardsData } from "../../dataGuard";
import * as pulumi from "@pulumi/pulumi";
import type { Branch } from "@neondatabase/api-client";
import { parseNeonBackupName } from "../../backup/neon";
import { KeelError } from "../../errors";
import { Api, neonErrorStatus, waitForOperations, waitForRunningOperations } from "../../vendors/neon";
import {
    changed,
    defaultBranch,
    findBranch,
    findBranches,
    findOrCreate,
    info,
    isUnknown,
    NeonCommonInputs,
    neonContext,
    orMissing,
    refuseIfProtected,
    warn,
    readOrGone,
    warnDrift,
    deleteAndWait,
    NeonCommonArgs,
} from "./common";
import { dynamicType, KeelDynamicResource, versioned } from "../../providerContext";
import { isRfc3339Seconds, sameInstant } from "../../config/timestamp";

export interface NeonBranchInputs extends NeonCommonInputs {
    projectId: string;
    name: string;
    /** The parent branch's name; undefined: this stack uses the project's default branch. */
    parent?: string;
    /** Neon branch protection (where the plan allows it). */
    protected: boolean;
    /** A child with the parent's schema and no data (init_source schema-only). */
    schemaOnly: boolean;
    /**
     * When Neon deletes the branch (its `expires_at`, RFC 3339 with whole seconds): a preview's branch
     * goes by itself. A new value moves it in place (a push extends a preview's life); never a replacement.
     */
    expiresAt?: string;
}

export interface NeonBranchOutputs extends NeonBranchInputs {
    branchId: string;
    parentId?: string;
    isDefault: boolean;
    /** Neon refused protection (plan): not asked again until `protected` changes or it is granted. */
    protectionRefused: boolean;
    drift: string[];
}

const ctx = neonContext();

function what(inputs: { name: string; projectId: string }, id?: string): string {
    return `Neon branch '${inputs.name}'${id ? ` (${id})` : ""} of project ${inputs.projectId}`;
}

/** Refusals that mean "not on this plan" rather than a retryable or missing-object error. */
function isRefusal(err: unknown): boolean {
    const status = neonErrorStatus(err);
    return status !== undefined && status >= 400 && status < 500 && ![404, 409, 423, 429].includes(status);
}

/** Sets `protected`; a plan that does not allow it gets a warning, not a failure. */
async function setProtection(
    api: Api,
    projectId: string,
    branch: Branch,
    want: boolean,
): Promise<{ protected: boolean; refused: boolean }> {
    if (branch.protected === want) return { protected: want, refused: false };
    try {
        const { data } = await api.updateProjectBranch(projectId, branch.id, { branch: { protected: want } });
        await waitForOperations(api, projectId, data.operations, ctx.wait);
        return { protected: data.branch.protected, refused: false };
    } catch (err) {
        if (!want || !isRefusal(err)) throw err;
        warn(
            `Neon refused to protect branch '${branch.name}' (${branch.id}): ${(err as Error).message}. Branch protection depends on the Neon plan; ` +
                `carrying on without it (the stack's protect still keeps Pulumi from deleting the branch).`,
        );
        return { protected: branch.protected, refused: true };
    }
}

function outputs(inputs: NeonBranchInputs, branch: Branch, protection: { protected: boolean; refused: boolean }): NeonBranchOutputs {
    return {
        ...inputs,
        name: branch.name,
        protected: protection.protected,
        branchId: branch.id,
        ...(branch.parent_id ? { parentId: branch.parent_id } : {}),
        isDefault: branch.default,
        protectionRefused: protection.refused,
        drift: [],
    };
}

async function createDefault(api: Api, inputs: NeonBranchInputs): Promise<NeonBranchOutputs> {
    let branch = await defaultBranch(api, inputs.projectId);
    await waitForRunningOperations(api, inputs.projectId, { branchId: branch.id }, ctx.wait);
    if (branch.name !== inputs.name) {
        info(`naming the default branch ${branch.id} of project ${inputs.projectId} '${inputs.name}' (was '${branch.name}')`);
        const { data } = await api.updateProjectBranch(inputs.projectId, branch.id, { branch: { name: inputs.name } });
        await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
        branch = data.branch;
    }
    const protection = inputs.protected
        ? await setProtection(api, inputs.projectId, branch, true)
        : { protected: branch.protected, refused: false };
    return outputs(inputs, branch, protection);
}

async function createChild(api: Api, inputs: NeonBranchInputs): Promise<NeonBranchOutputs> {
    const parentName = inputs.parent!;
    const parent = await findBranch(api, inputs.projectId, parentName);
    if (!parent) {
        throw new KeelError(
            `The parent branch '${parentName}' of ${what(inputs)} does not exist. It is the branch of the stack that owns the project ` +
                `(normally prod): run 'pulumi up' there first, or set keel:database.neon.branch.parent to an existing branch.`,
        );
    }
    const found = await findOrCreate(
        what(inputs),
        () => findBranch(api, inputs.projectId, inputs.name),
        async () => {
            const { data } = await api.createProjectBranch(inputs.projectId, {
                branch: {
                    name: inputs.name,
                    parent_id: parent.id,
                    ...(inputs.schemaOnly ? { init_source: "schema-only" } : {}),
                    ...(inputs.expiresAt !== undefined ? { expires_at: inputs.expiresAt } : {}),
                },
            });
            info(
                `created ${what(inputs, data.branch.id)} from '${parent.name}'${inputs.schemaOnly ? " (schema only)" : ""}; waiting for Neon`,
            );
            await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
            return data.branch;
        },
    );
    let branch = found.value;
    if (found.adopted || found.recovered) {
        info(`${what(inputs, branch.id)} ${found.recovered ? "was created although the response was lost" : "exists"}; adopting it`);
        await waitForRunningOperations(api, inputs.projectId, { branchId: branch.id }, ctx.wait);
        if (found.adopted && !inputs.schemaOnly && branch.parent_id && branch.parent_id !== parent.id) {
            warn(
                `${what(inputs, branch.id)} was branched from ${branch.parent_id}, not from '${parentName}' (${parent.id}); adopting it as it is.`,
            );
        }
        branch = (await api.getProjectBranch(inputs.projectId, branch.id)).data.branch;
        // An adopted branch (a preview made again) gets this expiry, not the one it was made with.
        branch = await setExpiry(api, inputs.projectId, branch, inputs.expiresAt);
    }
    const protection = inputs.protected
        ? await setProtection(api, inputs.projectId, branch, true)
        : await setProtection(api, inputs.projectId, branch, false);
    return outputs(inputs, branch, protection);
}

/**
 * Neon deletes a branch only once it has no children, and the stack's backups
 * before migrating are children of its branch (snapshot branches). Deleting
 * the branch means its data goes: its backups go first. A child Keel did not
 * make (someone's branch of staging) is refused before anything is deleted.
 */
async function deleteBackupsOf(api: Api, props: NeonBranchInputs, id: string): Promise<void> {
    const children = (await findBranches(api, props.projectId)).filter((b) => b.parent_id === id);
    const backups = children.filter((b) => parseNeonBackupName(props.stack, b.name) !== undefined);
    const others = children.filter((b) => !backups.includes(b));
    if (others.length) {
        throw new KeelError(
            `Cannot delete ${what(props, id)}: Neon deletes a branch only without children, and it has ${others.length} that Keel did not make ` +
                `(${others.map((b) => `'${b.name}' (${b.id})`).join(", ")}). Delete them in the Neon console (or keep what you need elsewhere), then run 'pulumi destroy' again.`,
        );
    }
    for (const b of backups) {
        info(`deleting backup '${b.name}' (${b.id}) of ${what(props, id)}: Neon deletes a branch only without children`);
        await waitForRunningOperations(api, props.projectId, { branchId: b.id }, ctx.wait);
        const deleted = await orMissing(api.deleteProjectBranch({ projectId: props.projectId, branchId: b.id }));
        await waitForOperations(api, props.projectId, (deleted?.data as { operations?: never[] } | undefined)?.operations, ctx.wait);
    }
}

/** Sets `expires_at` when the branch's differs (undefined: none, sent as null); the branch as Neon then has it. */
async function setExpiry(api: Api, projectId: string, branch: Branch, want: string | undefined): Promise<Branch> {
    if (sameInstant(branch.expires_at, want)) return branch;
    info(
        want === undefined
            ? `removing the expiry of branch '${branch.name}' (${branch.id})`
            : `branch '${branch.name}' (${branch.id}) expires at ${want}`,
    );
    const { data } = await api.updateProjectBranch(projectId, branch.id, { branch: { expires_at: want ?? null } });
    await waitForOperations(api, projectId, data.operations, ctx.wait);
    return data.branch;
}

/** A new expiry (known at preview): updated in place, never a replacement. */
function expiryChange(olds: NeonBranchInputs, news: NeonBranchInputs): boolean {
    return !isUnknown(news.expiresAt) && !sameInstant(olds.expiresAt, news.expiresAt);
}

/** Whether `protected` needs a request: a refusal is not asked again while nothing changed. */
function protectionChange(olds: NeonBranchOutputs, news: NeonBranchInputs): boolean {
    if (olds.protected === news.protected) return false;
    return !(news.protected && olds.protectionRefused);
}

const neonBranchUnguarded = versioned<NeonBranchInputs, NeonBranchOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.name !== "string" || !news.name) failures.push({ property: "name", reason: "expected the branch's name" });
            if (news.parent === undefined && news.schemaOnly) {
                failures.push({
                    property: "schemaOnly",
                    reason: "the project's default branch has no parent to copy a schema from; schemaOnly is for child branches",
                });
            }
            if (news.expiresAt !== undefined && !isUnknown(news.expiresAt)) {
                if (news.parent === undefined)
                    failures.push({
                        property: "expiresAt",
                        reason: "the project's default branch must never expire (Neon would delete it and its data); expiresAt is for child branches",
                    });
                else if (!isRfc3339Seconds(news.expiresAt))
                    failures.push({
                        property: "expiresAt",
                        reason: `expected an RFC 3339 time with whole seconds, such as 2026-12-14T18:02:16Z (got ${JSON.stringify(news.expiresAt)})`,
                    });
            }
            if (news.parent !== undefined && news.parent === news.name)
                failures.push({ property: "parent", reason: `a branch cannot be its own parent ('${news.name}')` });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces: string[] = [];
            if (changed(olds.projectId, news.projectId)) replaces.push("projectId");
            if ((olds.parent ?? null) !== (news.parent ?? null)) replaces.push("parent");
            if (!!olds.schemaOnly !== !!news.schemaOnly) replaces.push("schemaOnly");
            const keys: (keyof NeonBranchInputs)[] = ["name", "stack", "protect", "allowDelete"];
            const changes =
                replaces.length > 0 ||
                isUnknown(news.projectId) ||
                protectionChange(olds, news) ||
                expiryChange(olds, news) ||
                keys.some((k) => changed(olds[k], news[k]));
            // Delete first: the new branch has the same name, and create adopts a branch by name.
            return { changes, replaces, deleteBeforeReplace: true };
        },

        async create(inputs) {
            const api = ctx.client();
            const outs = inputs.parent === undefined ? await createDefault(api, inputs) : await createChild(api, inputs);
            return { id: outs.branchId, outs };
        },

        async update(id, olds, news) {
            if (olds.projectId !== news.projectId) {
                throw new KeelError(
                    `${what(news, id)}: the project changed from ${olds.projectId}; run 'pulumi up' again to replace the branch.`,
                );
            }
            const api = ctx.client();
            let branch = (await api.getProjectBranch(news.projectId, id)).data.branch;
            await waitForRunningOperations(api, news.projectId, { branchId: id }, ctx.wait);
            if (branch.name !== news.name) {
                info(`renaming branch ${id} from '${branch.name}' to '${news.name}'`);
                const { data } = await api.updateProjectBranch(news.projectId, id, { branch: { name: news.name } });
                await waitForOperations(api, news.projectId, data.operations, ctx.wait);
                branch = data.branch;
            }
            if (expiryChange(olds, news) || !sameInstant(branch.expires_at, news.expiresAt)) {
                branch = await setExpiry(api, news.projectId, branch, news.expiresAt);
            }
            const protection = protectionChange(olds, news)
                ? await setProtection(api, news.projectId, branch, news.protected)
                : { protected: branch.protected, refused: news.protected && !branch.protected && olds.protectionRefused };
            return { outs: outputs(news, branch, protection) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            const found = await readOrGone(what(props, id), api.getProjectBranch(props.projectId, id));
            if (!found) return { id: "" };
            const branch = found.data.branch;
            const drift: string[] = [];
            if (branch.name !== props.name) drift.push(`~ name: '${props.name}' -> '${branch.name}' (renamed outside Keel)`);
            if (branch.protected !== props.protected)
                drift.push(
                    `~ protected: ${props.protected} -> ${branch.protected}${branch.protected ? "" : " (protection removed outside Keel)"}`,
                );
            if (branch.default !== props.isDefault) drift.push(`~ default: ${props.isDefault} -> ${branch.default}`);
            if (!sameInstant(branch.expires_at, props.expiresAt))
                drift.push(`~ expiresAt: ${props.expiresAt ?? "none"} -> ${branch.expires_at ?? "none"} (changed outside Keel)`);
            warnDrift(what(props, id), drift);
            return {
                id,
                props: {
                    ...props,
                    name: branch.name,
                    protected: branch.protected,
                    isDefault: branch.default,
                    ...(branch.parent_id ? { parentId: branch.parent_id } : {}),
                    // Neon's own when it differs, so that up sets it back; the written form when it is the same instant.
                    ...(sameInstant(branch.expires_at, props.expiresAt) ? {} : { expiresAt: branch.expires_at }),
                    protectionRefused: branch.protected ? false : props.protectionRefused,
                    drift,
                },
            };
        },

        async delete(id, props) {
            refuseIfProtected(what(props, id), props);
            const api = ctx.client();
            const found = await orMissing(api.getProjectBranch(props.projectId, id));
            if (!found) return;
            const branch = found.data.branch;
            if (branch.default) {
                info(`leaving ${what(props, id)} in place: it is the project's default branch, which goes only with the project.`);
                return;
            }
            await waitForRunningOperations(api, props.projectId, { branchId: id }, ctx.wait);
            await deleteBackupsOf(api, props, id);
            if (branch.protected) {
                // Neon refuses to delete a protected branch; this stack means it (it does not protect its data).
                const { data } = await api.updateProjectBranch(props.projectId, id, { branch: { protected: false } });
                await waitForOperations(api, props.projectId, data.operations, ctx.wait);
            }
            await deleteAndWait(ctx, api, props.projectId, what(props, id), () =>
                api.deleteProjectBranch({ projectId: props.projectId, branchId: id }),
            );
        },
    },
);

/** Holds data: a replacement the stack has not allowed is refused (components/dataGuard.ts). */
export const neonBranchProvider = guardsData(neonBranchUnguarded);

export interface NeonBranchArgs extends NeonCommonArgs {
    projectId: pulumi.Input<string>;
    name: pulumi.Input<string>;
    parent?: pulumi.Input<string>;
    protected: pulumi.Input<boolean>;
    schemaOnly: pulumi.Input<boolean>;
}

export class NeonBranch extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("NeonBranch");
    declare readonly branchId: pulumi.Output<string>;
    declare readonly parentId: pulumi.Output<string | undefined>;
    declare readonly isDefault: pulumi.Output<boolean>;
    declare readonly protectionRefused: pulumi.Output<boolean>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: NeonBranchArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            neonBranchProvider,
            NeonBranch.__pulumiType,
            name,
            { ...args, branchId: undefined, parentId: undefined, isDefault: undefined, protectionRefused: undefined, drift: undefined },
            opts,
        );
    }
}
