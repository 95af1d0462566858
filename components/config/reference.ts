/**
 * The config reference (docs/config.md), generated from the schemas that validate the
 * config (keys.ts): every `keel:` key, nested keys dotted, with its type, its default
 * (per stage where stage.ts makes it differ), whether it is a secret and its one-line
 * description. Deterministic: the same schemas give the same text. Pure: no Pulumi imports.
 */
import { z } from "zod";
import { NAMESPACE } from "./context";
import { CONFIG_KEYS } from "./keys";
import { keyDocs } from "./keyDocs";
import { STAGE_DEFAULTED_KEYS, STAGES, stageDefaults } from "./stage";

export interface ReferenceRow {
    /** `keel:database.neon.region`; a list's items as `keel:backend.fly.regions[].region`. */
    key: string;
    type: string;
    /** In Markdown; empty when the key has none. */
    default: string;
    secret: boolean;
    description: string;
    /** The environment variable or other source used when the key is not set, in Markdown. */
    fallback?: string;
}

/** The file `npm run docs` writes, relative to the project. */
export const REFERENCE_FILE = "docs/config.md";

type Def = { type: string; innerType?: z.ZodType; defaultValue?: unknown; shape?: Record<string, z.ZodType> };
const defOf = (s: z.ZodType): Def => (s as unknown as { def: Def }).def;

/** The schema under its optional, default and nullable wrappers, with the default met on the way. */
function unwrap(schema: z.ZodType): { base: z.ZodType; defaultValue?: unknown; description?: string; computedDefault?: string } {
    let s = schema;
    let defaultValue: unknown;
    let description = s.description;
    let computed = keyDocs.get(s)?.computedDefault;
    for (;;) {
        const d = defOf(s);
        if (d.type === "default") defaultValue ??= d.defaultValue;
        if (!["optional", "default", "nullable", "readonly", "prefault"].includes(d.type) || !d.innerType) break;
        s = d.innerType;
        description ??= s.description;
        computed ??= keyDocs.get(s)?.computedDefault;
    }
    return { base: s, defaultValue, description, computedDefault: computed };
}

const code = (v: unknown) => `\`${typeof v === "string" ? v : JSON.stringify(v)}\``;

/** The value's type in words: `integer 1–65535`, `` `fly`, `render` ``, `map of variable name → string`. */
export function typeOf(schema: z.ZodType): string {
    const { base } = unwrap(schema);
    const format = keyDocs.get(base)?.format;
    if (format) return format;
    const d = defOf(base) as Def & Record<string, any>;
    switch (d.type) {
        case "string":
            return "string";
        case "boolean":
            return "boolean";
        case "number": {
            const n = base as unknown as { isInt: boolean; minValue: number | null; maxValue: number | null };
            const bound = (v: number | null) => v !== null && Math.abs(v) < 1e15;
            // positive() is an exclusive bound: > 0, not ≥ 0.
            const exclusive = ((d.checks ?? []) as { _zod: { def: { check: string; inclusive?: boolean } } }[]).some(
                (c) => c._zod.def.check === "greater_than" && c._zod.def.inclusive === false,
            );
            const range =
                bound(n.minValue) && bound(n.maxValue)
                    ? ` ${n.minValue}–${n.maxValue}`
                    : bound(n.minValue)
                      ? ` ${exclusive ? ">" : "≥"} ${n.minValue}`
                      : "";
            return `${n.isInt ? "integer" : "number"}${range}`;
        }
        case "enum":
            return Object.values(d.entries as Record<string, string>)
                .map(code)
                .join(", ");
        case "literal":
            return (d.values as unknown[]).map((v) => (v === "" ? "empty" : code(v))).join(", ");
        case "union":
            return (d.options as z.ZodType[]).map(typeOf).join(" or ");
        case "record":
            return `map of ${typeOf(d.keyType)} → ${typeOf(d.valueType)}`;
        case "array":
            return `list of ${defOf(unwrap(d.element).base).type === "object" ? "objects" : typeOf(d.element)}`;
        case "object":
            return "object";
        default:
            return d.type;
    }
}

/** A stage-aware default: `dev: 10s; staging, prod: 5s`, one value when every stage has it. */
function stageDefaultText(path: string): string | undefined {
    const of = STAGE_DEFAULTED_KEYS[path];
    if (!of) return undefined;
    const groups = new Map<string, string[]>();
    for (const stage of STAGES) {
        const v = of(stageDefaults(stage));
        const text = v === undefined ? "none" : code(v);
        groups.set(text, [...(groups.get(text) ?? []), stage]);
    }
    if (groups.size === 1) return [...groups.keys()][0];
    return [...groups].map(([text, stages]) => `${stages.join(", ")}: ${text}`).join("; ");
}

function defaultText(path: string, schema: z.ZodType): string {
    const u = unwrap(schema);
    const staged = stageDefaultText(path);
    if (staged !== undefined) return staged;
    if (u.computedDefault) return u.computedDefault;
    // An object's default is its keys' defaults, listed in their own rows.
    if (u.defaultValue === undefined || defOf(u.base).type === "object") return "";
    return code(u.defaultValue);
}

/** The rows for a key and everything under it: objects by their keys, lists of objects by their items' keys. */
function rowsOf(path: string, schema: z.ZodType, secret: boolean): ReferenceRow[] {
    const u = unwrap(schema);
    const row: ReferenceRow = {
        key: `${NAMESPACE}:${path}`,
        type: typeOf(schema),
        default: defaultText(path, schema),
        secret,
        description: u.description ?? "",
    };
    const d = defOf(u.base) as Def & Record<string, any>;
    if (d.type === "object") {
        const shape = d.shape as Record<string, z.ZodType>;
        return [row, ...Object.entries(shape).flatMap(([k, s]) => rowsOf(`${path}.${k}`, s, secret))];
    }
    if (d.type === "array") {
        const item = unwrap(d.element);
        if (defOf(item.base).type === "object") {
            const shape = (defOf(item.base) as Def & Record<string, any>).shape as Record<string, z.ZodType>;
            return [row, ...Object.entries(shape).flatMap(([k, s]) => rowsOf(`${path}[].${k}`, s, secret))];
        }
    }
    return [row];
}

/** Every key the config accepts, in keys.ts's order. */
export function configReference(): ReferenceRow[] {
    return CONFIG_KEYS.flatMap((k) => {
        if (k.schema) {
            const [top, ...rest] = rowsOf(k.key, k.schema, k.secret);
            return [{ ...top, description: k.description, ...(k.fallback ? { fallback: k.fallback } : {}) }, ...rest];
        }
        return [
            {
                key: `${NAMESPACE}:${k.key}`,
                type: k.type ?? "string",
                default: k.default ?? "",
                secret: k.secret,
                description: k.description,
                ...(k.fallback ? { fallback: k.fallback } : {}),
            },
        ];
    });
}

const cell = (text: string) => text.replace(/\|/g, "\\|").replace(/\n/g, " ");

/** docs/config.md's text. */
export function renderReference(rows: ReferenceRow[] = configReference()): string {
    const settings = rows.filter((r) => !r.fallback);
    const sourced = rows.filter((r) => r.fallback);
    const lines = [
        "# Configuration reference",
        "",
        "<!-- Generated by `npm run docs` from components/config (the zod schemas that validate the config). Do not edit: change a schema's `.describe()` and run `npm run docs`. -->",
        "",
        `Everything under \`${NAMESPACE}:\` is validated before any resource is declared; every problem is reported at once, with the`,
        "key, what was expected and the `npm run pulumi -- config set` command that fixes it. An unknown key, a credential stored",
        "in plain text, or a database URL that is pooled (a Neon `-pooler` host, `pgbouncer=true`, port 6432) is refused.",
        "",
        "Set a nested key with `--path`, for example",
        "`npm run pulumi -- config set --path keel:migrations.lockTimeout 3s --stack prod`; a secret with `--secret`.",
        "A default given per stage applies to the stack's stage (`keel:stage`, else the stack's name).",
        "",
        "## Settings",
        "",
        "| key | type | default | secret | meaning |",
        "| --- | --- | --- | --- | --- |",
        ...settings.map(
            (r) => `| \`${r.key}\` | ${cell(r.type)} | ${cell(r.default)} | ${r.secret ? "yes" : ""} | ${cell(r.description)} |`,
        ),
        "",
        "## Credentials, API URLs and other values from the environment",
        "",
        "Each is read from the stack's config, else from the source named (the environment of `npm run up`, or of CI).",
        "The API tokens are checked only when the stack deploys the service they are for.",
        "",
        "| key | type | secret | when not set | meaning |",
        "| --- | --- | --- | --- | --- |",
        ...sourced.map(
            (r) => `| \`${r.key}\` | ${cell(r.type)} | ${r.secret ? "yes" : ""} | ${cell(r.fallback!)} | ${cell(r.description)} |`,
        ),
        "",
    ];
    return lines.join("\n");
}
