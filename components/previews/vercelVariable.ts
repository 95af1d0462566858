/**
 * VercelPreviewVariable: a pull request's preview backend URL (or any value)
 * as a variable of the base stack's Vercel project, for the preview target and
 * the PR's git branch only, so that the PR's Vercel preview deployments reach
 * the PR's backend. Marked as Keel's by its comment (previewVariableComment),
 * which is how the reaper finds the ones left behind.
 *
 * A dynamic resource because the Vercel plugin cannot run here. Create adopts
 * a variable with the same key, target preview and branch (Vercel refuses a
 * second one), a new value is an edit in place, delete removes it (already
 * gone: done). The value is treated as a secret: never logged, never in a
 * message, a secret output.
 */
import * as pulumi from "@pulumi/pulumi";
import { KeelError } from "../errors";
import { changed, dynamicType, isUnknown, KeelDynamicResource, providerContext, versioned } from "../providerContext";
import { resolveVercelCredentials, VercelApiError, VercelClient, vercelErrorStatus } from "../vendors/vercel";
import {
    createProjectEnv,
    editProjectEnv,
    findVercelProject,
    listProjectEnv,
    removeProjectEnv,
    VercelEnvType,
    VercelEnvVariable,
} from "../vendors/vercelEnv";
import { isPullRequestNumber, previewVariableComment } from "./naming";

export interface VercelPreviewVariableInputs {
    projectName: string;
    teamId?: string;
    key: string;
    value: string;
    gitBranch: string;
    pr: number;
}

export interface VercelPreviewVariableOutputs extends VercelPreviewVariableInputs {
    projectId: string;
    variableId: string;
}

/** Stored encrypted and readable by the project's team (Vercel's default type); `sensitive` ones cannot be read back at all. */
export const PREVIEW_VARIABLE_TYPE: VercelEnvType = "encrypted";

/** Vercel refused the variable for a reason Keel cannot fix by itself. */
export class VercelPreviewVariableError extends KeelError {
    constructor(message: string) {
        super(message, "VercelPreviewVariableError");
    }
}

/** A client per call, for the variable's team: keel:vercelApiToken (configure) or VERCEL_API_TOKEN; VERCEL_API_URL for tests. */
const ctx = providerContext<(teamId?: string) => VercelClient>(
    "vercel",
    { secret: "vercelApiToken", url: "vercelApiUrl" },
    (configToken, configUrl, env, log) => (teamId) => {
        const creds = resolveVercelCredentials({ configApiToken: configToken, configApiUrl: configUrl, env });
        return new VercelClient({
            token: creds.token,
            tokenSource: creds.source,
            baseUrl: creds.baseUrl,
            teamId,
            env,
            onProgress: log.info,
        });
    },
);

function what(i: { key: string; gitBranch: string; projectName: string }): string {
    return `Vercel variable ${i.key} (preview, branch ${i.gitBranch}) of project ${i.projectName}`;
}

/** Runs fn with the value cut out of any error's message (Vercel's messages could quote a request). */
async function withoutValue<T>(value: string, fn: () => Promise<T>): Promise<T> {
    try {
        return await fn();
    } catch (err) {
        if (value && err instanceof Error && err.message.includes(value)) err.message = err.message.split(value).join("[redacted]");
        throw err;
    }
}

function isOurs(v: VercelEnvVariable, i: VercelPreviewVariableInputs): boolean {
    return v.key === i.key && v.gitBranch === i.gitBranch && v.target.length === 1 && v.target[0] === "preview";
}

async function findVariable(
    client: VercelClient,
    projectId: string,
    i: VercelPreviewVariableInputs,
): Promise<VercelEnvVariable | undefined> {
    return (await listProjectEnv(client, projectId, { gitBranch: i.gitBranch })).find((v) => isOurs(v, i));
}

/** What an edit sets: the whole variable, so an adopted one ends exactly as asked. */
function body(i: VercelPreviewVariableInputs) {
    return {
        key: i.key,
        value: i.value,
        type: PREVIEW_VARIABLE_TYPE,
        target: ["preview" as const],
        gitBranch: i.gitBranch,
        comment: previewVariableComment(i.pr),
    };
}

function outputs(i: VercelPreviewVariableInputs, projectId: string, variableId: string): VercelPreviewVariableOutputs {
    return { ...i, projectId, variableId };
}

export const vercelPreviewVariableProvider = versioned<VercelPreviewVariableInputs, VercelPreviewVariableOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            const known = (v: unknown) => !isUnknown(v);
            if (known(news.projectName) && (typeof news.projectName !== "string" || !news.projectName))
                failures.push({ property: "projectName", reason: "expected the base stack's Vercel project name" });
            if (known(news.key) && (typeof news.key !== "string" || !/^[A-Za-z_][A-Za-z0-9_]*$/.test(news.key)))
                failures.push({
                    property: "key",
                    reason: `expected an environment variable name such as API_URL (got ${JSON.stringify(news.key)})`,
                });
            if (known(news.gitBranch) && (typeof news.gitBranch !== "string" || !news.gitBranch))
                failures.push({ property: "gitBranch", reason: "expected the pull request's head branch" });
            if (known(news.pr) && !isPullRequestNumber(news.pr))
                failures.push({ property: "pr", reason: `expected a pull request number (got ${JSON.stringify(news.pr)})` });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces: string[] = [];
            // Another project or team is another variable: made there before this one goes.
            if (changed(olds.projectName, news.projectName)) replaces.push("projectName");
            if (changed(olds.teamId, news.teamId)) replaces.push("teamId");
            const inPlace = (["key", "value", "gitBranch", "pr"] as const).some((k) => changed(olds[k], news[k]) || isUnknown(news[k]));
            return { changes: replaces.length > 0 || inPlace, replaces, deleteBeforeReplace: false };
        },

        async create(inputs) {
            const client = ctx.client()(inputs.teamId);
            return withoutValue(inputs.value, async () => {
                const project = await findVercelProject(client, inputs.projectName);
                const found = await findVariable(client, project.id, inputs);
                if (found) {
                    ctx.log.info(`${what(inputs)} exists (${found.id}); setting it`);
                    const edited = await editProjectEnv(client, project.id, found.id, body(inputs));
                    return { id: edited.id, outs: outputs(inputs, project.id, edited.id) };
                }
                try {
                    const made = await createProjectEnv(client, project.id, body(inputs));
                    ctx.log.info(`created ${what(inputs)} (${made.id})`);
                    return { id: made.id, outs: outputs(inputs, project.id, made.id) };
                } catch (err) {
                    // A lost answer, or one made meanwhile (Vercel refuses a second with the same key, target and branch): look again.
                    const lost = err instanceof VercelApiError && err.mayHaveBeenProcessed;
                    const status = vercelErrorStatus(err);
                    if (!lost && status !== 400 && status !== 409) throw err;
                    const again = await findVariable(client, project.id, inputs);
                    if (!again) throw err;
                    ctx.log.info(`${what(inputs)} was made although the answer was lost, or meanwhile (${again.id}); setting it`);
                    const edited = await editProjectEnv(client, project.id, again.id, body(inputs));
                    return { id: edited.id, outs: outputs(inputs, project.id, edited.id) };
                }
            });
        },

        async update(id, olds, news) {
            const client = ctx.client()(news.teamId);
            return withoutValue(news.value, async () => {
                try {
                    await editProjectEnv(client, olds.projectId, id, body(news));
                    ctx.log.info(`updated ${what(news)} (${id})`);
                    return { outs: outputs(news, olds.projectId, id) };
                } catch (err) {
                    if (vercelErrorStatus(err) !== 404) throw err;
                    throw new VercelPreviewVariableError(
                        `${what(olds)} (${id}) is gone (removed outside Keel, or its project was): run 'pulumi refresh' and then 'pulumi up' (or 'keel pr up') again to make it anew.`,
                    );
                }
            });
        },

        async read(id, props) {
            if (!props) return { id, props };
            const client = ctx.client()(props.teamId);
            let vars: VercelEnvVariable[];
            try {
                vars = await listProjectEnv(client, props.projectId, { gitBranch: props.gitBranch });
            } catch (err) {
                if (vercelErrorStatus(err) === 404) return { id: "" };
                throw err;
            }
            const found = vars.find((v) => v.id === id);
            if (!found) {
                ctx.log.warn(`${what(props)} (${id}) is gone (removed outside Keel); refresh drops it and the next up makes it again.`);
                return { id: "" };
            }
            // The value is not read back: Vercel gives it only decrypted, and a secret is not fetched to compare.
            return { id, props: { ...props, key: found.key, ...(found.gitBranch ? { gitBranch: found.gitBranch } : {}) } };
        },

        async delete(id, props) {
            const client = ctx.client()(props.teamId);
            const removed = await removeProjectEnv(client, props.projectId, id);
            ctx.log.info(removed ? `removed ${what(props)} (${id})` : `${what(props)} (${id}) was already gone`);
        },
    },
);

export interface VercelPreviewVariableArgs {
    /** The base stack's Vercel project (keel:frontend.name). */
    projectName: string;
    /** keel:frontend.teamId of the base stack; none: the token's personal account. */
    teamId?: string;
    /** The base's keel:frontend.backendUrlEnv. */
    key: string;
    /** The preview backend's URL; kept secret in the state whether or not it is given as one. */
    value: pulumi.Input<string>;
    /** The pull request's head branch. */
    gitBranch: string;
    pr: number;
}

export class VercelPreviewVariable extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("VercelPreviewVariable");
    declare readonly projectId: pulumi.Output<string>;
    declare readonly variableId: pulumi.Output<string>;

    constructor(name: string, args: VercelPreviewVariableArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            vercelPreviewVariableProvider,
            VercelPreviewVariable.__pulumiType,
            name,
            { ...args, value: pulumi.secret(args.value), projectId: undefined, variableId: undefined },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "value"] },
        );
    }
}
