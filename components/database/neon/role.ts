/**
 * NeonRole: the app's PostgreSQL role on the branch. Its password is a
 * secret output and appears in no other field. A child branch inherits its
 * parent's roles with their passwords, so on a child branch an inherited role
 * gets a new password (staging never holds prod's).
 */
import { guardsData } from "../../dataGuard";
import * as pulumi from "@pulumi/pulumi";
import { KeelError } from "../../errors";
import { Api, IDEMPOTENT, neonErrorStatus, waitForOperations, waitForRunningOperations } from "../../vendors/neon";
import {
    findOrCreate,
    findRole,
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

export interface NeonRoleInputs extends NeonCommonInputs {
    projectId: string;
    branchId: string;
    name: string;
    /** Give a role found on the branch (inherited from the parent) a new password. */
    resetPasswordOnAdopt: boolean;
}

export interface NeonRoleOutputs extends NeonRoleInputs {
    /** Secret (additionalSecretOutputs). */
    password: string;
    drift: string[];
}

/** Outputs that hold secrets; the only place a password may be. */
export const ROLE_SECRET_OUTPUTS = ["password"];

const ctx = neonContext();

function what(inputs: { name: string; branchId: string }): string {
    return `Neon role '${inputs.name}' on branch ${inputs.branchId}`;
}

async function resetPassword(api: Api, inputs: NeonRoleInputs): Promise<string> {
    const { data } = await api.resetProjectBranchRolePassword(inputs.projectId, inputs.branchId, inputs.name, IDEMPOTENT);
    await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
    if (!data.role.password) throw new KeelError(`Neon reset the password of ${what(inputs)} but returned none; run 'pulumi up' again.`);
    return data.role.password;
}

/** The stored password; when the project does not store passwords (412), a new one. */
async function currentPassword(api: Api, inputs: NeonRoleInputs): Promise<string> {
    try {
        return (await api.getProjectBranchRolePassword(inputs.projectId, inputs.branchId, inputs.name)).data.password;
    } catch (err) {
        if (neonErrorStatus(err) !== 412) throw err;
        info(`the Neon project does not store passwords; giving ${what(inputs)} a new one`);
        return resetPassword(api, inputs);
    }
}

const neonRoleUnguarded = versioned<NeonRoleInputs, NeonRoleOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.name !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(news.name))
                failures.push({ property: "name", reason: "expected a lower-case role name such as app" });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            return diffOnBranch<NeonRoleInputs>(olds, news, { replaceAlso: ["name"], inPlace: ["resetPasswordOnAdopt"] });
        },

        async create(inputs) {
            const api = ctx.client();
            const found = await findOrCreate(
                what(inputs),
                () => findRole(api, inputs.projectId, inputs.branchId, inputs.name),
                async () => {
                    const { data } = await api.createProjectBranchRole(inputs.projectId, inputs.branchId, { role: { name: inputs.name } });
                    info(`created ${what(inputs)}`);
                    await waitForOperations(api, inputs.projectId, data.operations, ctx.wait);
                    return data.role;
                },
            );
            let password = found.value.password;
            if (found.adopted || found.recovered || !password) {
                await waitForRunningOperations(api, inputs.projectId, { branchId: inputs.branchId }, ctx.wait);
                if (found.adopted && inputs.resetPasswordOnAdopt) {
                    info(`${what(inputs)} came with the branch; giving it its own password`);
                    password = await resetPassword(api, inputs);
                } else {
                    if (found.adopted) info(`${what(inputs)} exists; adopting it`);
                    if (found.recovered) info(`${what(inputs)} was created although the response was lost; adopting it`);
                    password = await currentPassword(api, inputs);
                }
            }
            return { id: `${inputs.projectId}/${inputs.branchId}/${inputs.name}`, outs: { ...inputs, password: password!, drift: [] } };
        },

        async update(_id, olds, news) {
            // Only Keel's own fields change in place (name and branch replace the role).
            return { outs: { ...news, password: olds.password, drift: [] } };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const api = ctx.client();
            const found = await readOrGone(what(props), api.getProjectBranchRole(props.projectId, props.branchId, props.name));
            if (!found) return { id: "" };
            const drift: string[] = [];
            let password = props.password;
            try {
                const now = (await api.getProjectBranchRolePassword(props.projectId, props.branchId, props.name)).data.password;
                if (now !== props.password) {
                    drift.push("~ password: changed outside Keel (the connection URLs follow it)");
                    password = now;
                }
            } catch (err) {
                if (neonErrorStatus(err) !== 412) throw err;
            }
            warnDrift(what(props), drift);
            return { id, props: { ...props, password, drift } };
        },

        async delete(_id, props) {
            await deleteUnlessProtected(ctx, what(props), props, (api) =>
                api.deleteProjectBranchRole(props.projectId, props.branchId, props.name),
            );
        },
    },
);

/** Holds data: a replacement the stack has not allowed is refused (components/dataGuard.ts). */
export const neonRoleProvider = guardsData(neonRoleUnguarded);

export interface NeonRoleArgs extends NeonOnBranchArgs {
    name: pulumi.Input<string>;
    resetPasswordOnAdopt: pulumi.Input<boolean>;
}

export class NeonRole extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("NeonRole");
    declare readonly name: pulumi.Output<string>;
    /** Secret. */
    declare readonly password: pulumi.Output<string>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: NeonRoleArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            neonRoleProvider,
            NeonRole.__pulumiType,
            name,
            { ...args, password: undefined, drift: undefined },
            { ...opts, additionalSecretOutputs: ROLE_SECRET_OUTPUTS },
        );
    }
}
