/**
 * FlySecrets: the app's secrets Keel manages. Every value is set in one
 * Secrets_update call, which also unsets the names Keel managed before and no
 * longer has; Fly's per-name digests and the secrets version are recorded.
 * Read compares the digests of the managed names only: a secret changed or
 * removed outside Keel is drift (named, never shown), and the recorded values
 * stay, so the next `pulumi up` sets them again. Delete unsets the managed
 * names.
 *
 * No value ever goes into a log line, an error or a drift entry: only names.
 */
import * as pulumi from "@pulumi/pulumi";
import type { AppSecret } from "../../vendors/fly";
import { changed, dynamicType, isUnknown, KeelDynamicResource, versioned } from "../../providerContext";
import { appNameFailures, appReplaces, orMissing, readOfApp } from "./common";
import { flyContext } from "./context";

export interface FlySecretsInputs {
    app: string;
    /** Name -> value; secret. */
    values: Record<string, string>;
}

export interface FlySecretsOutputs extends FlySecretsInputs {
    /** The names Keel manages (sorted). */
    names: string[];
    /** Fly's digest of each managed secret as Keel set it. */
    digests: Record<string, string>;
    /** The app's secrets version after Keel's last change (machines use it as min_secrets_version). */
    version: number;
    /** What `pulumi refresh` found changed outside Keel (names only); empty when nothing. */
    drift: string[];
}

const ctx = flyContext();

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

function plural(n: number, word: string): string {
    return `${n} ${word}${n === 1 ? "" : "s"}`;
}

/** Sets the values and unsets `previous` names no longer among them, in one call. */
async function apply(inputs: FlySecretsInputs, previous?: FlySecretsOutputs): Promise<FlySecretsOutputs> {
    const fly = ctx.client();
    const app = inputs.app;
    const names = Object.keys(inputs.values).sort();
    const unset = (previous?.names ?? []).filter((n) => !(n in inputs.values)).sort();
    const body: Record<string, string | null> = { ...inputs.values };
    for (const n of unset) body[n] = null;
    let version = previous?.version ?? 0;
    if (names.length || unset.length) {
        ctx.log.info(
            `setting the secrets of Fly app '${app}'` +
                (names.length ? `: ${names.join(", ")}` : "") +
                (unset.length ? `${names.length ? ";" : ":"} unsetting ${unset.join(", ")}` : ""),
        );
        const res = await fly.updateSecrets(app, body);
        if (typeof res.version === "number") version = res.version;
    }
    const listed = names.length ? await fly.listSecrets(app, version ? { minVersion: version } : {}) : [];
    const digests: Record<string, string> = {};
    for (const s of listed) if (s.name && s.name in inputs.values && s.digest) digests[s.name] = s.digest;
    ctx.log.info(`Fly app '${app}' has ${plural(names.length, "secret")} from Keel (secrets version ${version})`);
    return { app, values: inputs.values, names, digests, version, drift: [] };
}

/** Drift entries for the managed names (names only, never values). */
export function secretsDrift(props: FlySecretsOutputs, listed: AppSecret[]): string[] {
    const current = new Map(listed.filter((s) => s.name).map((s) => [s.name!, s.digest]));
    const managed = [...new Set([...(props.names ?? []), ...Object.keys(props.values ?? {})])].sort();
    const drift: string[] = [];
    for (const name of managed) {
        const recorded = props.digests?.[name];
        if (!current.has(name)) drift.push(`- ${name}: removed outside Keel; the next 'pulumi up' sets it again`);
        else if (recorded === undefined) drift.push(`+ ${name}: set outside Keel; the next 'pulumi up' sets Keel's value`);
        else if (current.get(name) !== recorded)
            drift.push(`~ ${name}: changed outside Keel; the next 'pulumi up' sets Keel's value again`);
    }
    return drift;
}

export const flySecretsProvider = versioned<FlySecretsInputs, FlySecretsOutputs>(
    { version: 1 },
    {
        configure: ctx.configure,

        async check(_olds, news) {
            const failures = appNameFailures(news.app);
            if (!isUnknown(news.values)) {
                if (!news.values || typeof news.values !== "object" || Array.isArray(news.values))
                    failures.push({ property: "values", reason: "expected an object of secret names to values" });
                else {
                    for (const [name, value] of Object.entries(news.values)) {
                        if (!NAME.test(name))
                            failures.push({
                                property: "values",
                                reason: `secret name '${name}' is not an environment variable name (letters, digits, _)`,
                            });
                        // The name only: the value never goes into a message.
                        else if (typeof value !== "string" && !isUnknown(value))
                            failures.push({ property: "values", reason: `the value of secret ${name} is not a string` });
                    }
                }
            }
            return { inputs: news, failures };
        },

        async diff(_id, olds, news) {
            const replaces = appReplaces(olds, news);
            // Drift recorded by refresh: set the values again even though they did not change here.
            const changes =
                replaces.length > 0 || changed(olds.values, news.values) || isUnknown(news.values) || (olds.drift ?? []).length > 0;
            return { changes, replaces, deleteBeforeReplace: false };
        },

        async create(inputs) {
            const outs = await apply(inputs);
            return { id: `${inputs.app}/secrets`, outs };
        },

        async update(_id, olds, news) {
            return { outs: await apply(news, olds) };
        },

        async read(id, props) {
            if (!props) return { id, props };
            const fly = ctx.client();
            const listed = await readOfApp(ctx.log, props.app, "secrets", fly.listSecrets(props.app));
            if (!listed) return { id: "" };
            const drift = secretsDrift(props, listed);
            if (drift.length) ctx.log.warn(`drift in the secrets of Fly app '${props.app}':\n  ${drift.join("\n  ")}`);
            // Values and digests stay Keel's: the next 'pulumi up' sets them again.
            return { id, props: { ...props, drift } };
        },

        async delete(_id, props) {
            const names = props.names ?? [];
            if (!names.length) return;
            const fly = ctx.client();
            ctx.log.info(`unsetting the secrets ${names.join(", ")} of Fly app '${props.app}'`);
            // 404: the app is gone, and its secrets with it.
            await orMissing(fly.updateSecrets(props.app, Object.fromEntries(names.map((n) => [n, null]))));
        },
    },
);

export interface FlySecretsArgs {
    app: pulumi.Input<string>;
    values: pulumi.Input<Record<string, pulumi.Input<string>>>;
}

export class FlySecrets extends KeelDynamicResource {
    /** The type token the engine and the policy pack see (policies/ selects by it). */
    static readonly __pulumiType = dynamicType("FlySecrets");
    declare readonly values: pulumi.Output<Record<string, string>>;
    declare readonly names: pulumi.Output<string[]>;
    declare readonly digests: pulumi.Output<Record<string, string>>;
    declare readonly version: pulumi.Output<number>;
    declare readonly drift: pulumi.Output<string[]>;

    constructor(name: string, args: FlySecretsArgs, opts?: pulumi.CustomResourceOptions) {
        super(
            flySecretsProvider,
            FlySecrets.__pulumiType,
            name,
            {
                app: args.app,
                values: pulumi.secret(args.values),
                names: undefined,
                digests: undefined,
                version: undefined,
                drift: undefined,
            },
            { ...opts, additionalSecretOutputs: [...(opts?.additionalSecretOutputs ?? []), "values", "digests"] },
        );
    }
}
