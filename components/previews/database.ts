/**
 * PreviewDatabase: a pull request's database beside its base's, on the base's
 * existing server (the external kind): `<db>_pr_<n>`, created when absent and
 * adopted when there (a masked copy `keel pr up` made first, or a run that
 * lost its response), dropped when the preview is removed. The URL it hands
 * out is the server's with the database's name, and secret.
 */
import * as pulumi from "@pulumi/pulumi";
import { DataGuardInput, guardsData } from "../dataGuard";
import { KeelError } from "../errors";
import { describeTarget, dropDatabase, openClient, quoteIdent } from "../postgres";
import { dynamicType, KeelDynamicResource, versioned } from "../providerContext";
import { urlForDatabase } from "../backup/pgDump/connection";

export class PreviewDatabaseError extends KeelError {
    constructor(message: string) {
        super(message, "PreviewDatabaseError");
    }
}

export interface PreviewDatabaseInputs {
    /** The base's server, by its URL (secret). */
    serverUrl: string;
    /** `<db>_pr_<n>` (naming.ts: previewDatabaseName). */
    name: string;
    stack: string;
    dataGuard: DataGuardInput;
}

export interface PreviewDatabaseOutputs extends PreviewDatabaseInputs {
    /** The preview database's URL (secret). */
    url: string;
}

function say(message: string): void {
    pulumi.log.info(`keel preview: ${message}`);
}

const previewDatabaseUnguarded = versioned<PreviewDatabaseInputs, PreviewDatabaseOutputs>(
    { version: 1 },
    {
        async check(_olds, news) {
            const failures: pulumi.dynamic.CheckFailure[] = [];
            if (typeof news.name !== "string" || !/^[a-z_][a-z0-9_]{0,62}$/.test(news.name))
                failures.push({ property: "name", reason: "expected a lower-case database name such as app_pr_12" });
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            // Another server or name is another database: a replacement, which the data guard refuses unless allowed.
            const replaces = (["serverUrl", "name"] as const).filter((k) => olds[k] !== news[k]);
            return { changes: replaces.length > 0 || olds.stack !== news.stack, replaces, deleteBeforeReplace: true };
        },

        async create(inputs) {
            const admin = await openClient(inputs.serverUrl);
            try {
                const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [inputs.name])).rowCount;
                if (exists) say(`database ${inputs.name} on ${describeTarget(inputs.serverUrl)} exists; adopting it`);
                else {
                    await admin.query(`CREATE DATABASE ${quoteIdent(inputs.name)}`);
                    say(`created database ${inputs.name} on ${describeTarget(inputs.serverUrl)}`);
                }
            } catch (err) {
                throw new PreviewDatabaseError(
                    `could not create the preview database ${inputs.name} on ${describeTarget(inputs.serverUrl)}: ${(err as Error).message} ` +
                        `(the base's database role needs CREATEDB: ALTER ROLE <role> CREATEDB, run as the server's owner)`,
                );
            } finally {
                await admin.end();
            }
            return { id: inputs.name, outs: { ...inputs, url: urlForDatabase(inputs.serverUrl, inputs.name) } };
        },

        async update(_id, _olds, news) {
            return { outs: { ...news, url: urlForDatabase(news.serverUrl, news.name) } };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const admin = await openClient(props.serverUrl);
            try {
                const exists = (await admin.query("SELECT 1 FROM pg_database WHERE datname = $1", [props.name])).rowCount;
                return exists ? { id, props } : { id: "" };
            } finally {
                await admin.end();
            }
        },

        async delete(_id, props) {
            const admin = await openClient(props.serverUrl);
            try {
                await dropDatabase(admin, props.name);
                say(`dropped database ${props.name} on ${describeTarget(props.serverUrl)}`);
            } finally {
                await admin.end();
            }
        },
    },
);

/** Holds data: a replacement the stack has not allowed is refused (components/dataGuard.ts). */
export const previewDatabaseProvider = guardsData(previewDatabaseUnguarded);

export interface PreviewDatabaseArgs {
    serverUrl: pulumi.Input<string>;
    name: pulumi.Input<string>;
    stack: pulumi.Input<string>;
    dataGuard: pulumi.Input<DataGuardInput>;
}

export class PreviewDatabase extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("PreviewDatabase");
    declare readonly url: pulumi.Output<string>;
    declare readonly name: pulumi.Output<string>;

    constructor(name: string, args: PreviewDatabaseArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            previewDatabaseProvider,
            PreviewDatabase.__pulumiType,
            name,
            { ...args, url: undefined },
            {
                ...opts,
                additionalSecretOutputs: ["url", "serverUrl"],
            },
        );
    }
}
