/**
 * OpenAPI validation for the spec-conformance tests (test/vendors/*Spec.test.ts):
 * concrete paths are mapped to the spec's path templates, operations looked up,
 * and request and response bodies validated with Ajv 8 against the schemas the
 * spec declares for them (OpenAPI 3.0 `nullable` is understood by Ajv 8).
 * Per-spec quirks stay in the tests: they pass formats and options, or correct
 * the spec object before constructing.
 */
import * as fs from "fs";
import * as path from "path";
import Ajv, { ValidateFunction } from "ajv";
import { skipOrFail } from "./skipOrFail";

/** Where the vendors' specs live: shared/specs beside the repository, or the directory KEEL_SPECS_DIR names. */
export function specsDir(): string {
    return process.env.KEEL_SPECS_DIR ? path.resolve(process.env.KEEL_SPECS_DIR) : path.resolve(__dirname, "../../../shared/specs");
}

/** RFC 3339 date-time, as the specs mean it. */
export const DATE_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface Operation {
    operationId: string;
    parameters?: { name: string; in: string; required?: boolean; schema?: any }[];
    requestBody?: any;
    responses: Record<string, any>;
}

export interface OpenApiOptions {
    /** Formats to check (a pattern) or to accept unchecked (true); other formats are ignored. */
    formats?: Record<string, RegExp | true>;
    /** Whether a status the operation does not list falls back to its `default` response (default true). */
    defaultResponse?: boolean;
}

/**
 * The parsed spec in specsDir()/file (JSON, or YAML for .yml/.yaml). When it is
 * not there the test skips with one line, or fails under CI=true (skipOrFail).
 */
export async function loadSpec(ctx: Mocha.Context, file: string): Promise<any> {
    const at = path.join(specsDir(), file);
    if (!fs.existsSync(at)) {
        return skipOrFail(
            ctx,
            `the spec-conformance tests need the vendor's OpenAPI spec at ${at}, which is not there ` +
                "(shared/specs/ beside the repository, or the directory KEEL_SPECS_DIR names)",
        );
    }
    const text = fs.readFileSync(at, "utf8");
    if (/\.ya?ml$/.test(file)) {
        const YAML = await import("yaml");
        return YAML.parse(text);
    }
    return JSON.parse(text);
}

/** JSON pointer segment escaping, then URI escaping (paths hold braces). */
function pointer(parts: string[]): string {
    return parts.map((p) => "/" + encodeURIComponent(p.replace(/~/g, "~0").replace(/\//g, "~1"))).join("");
}

export class OpenApiSpec {
    private ajv = new Ajv({ strict: false, allErrors: true, validateSchema: false });
    private validators = new Map<string, ValidateFunction>();
    private templates: { template: string; segments: string[] }[];
    private defaultResponse: boolean;

    constructor(
        readonly spec: any,
        options: OpenApiOptions = {},
    ) {
        for (const [name, format] of Object.entries(options.formats ?? {})) this.ajv.addFormat(name, format);
        this.defaultResponse = options.defaultResponse ?? true;
        this.ajv.addSchema(spec, "spec.json");
        this.templates = Object.keys(spec.paths).map((template) => ({ template, segments: template.split("/").filter(Boolean) }));
    }

    /** The path template for a concrete path; literal segments win over parameters (/branches/count). */
    template(p: string): string | undefined {
        const parts = p.split("/").filter(Boolean);
        const matches = this.templates.filter(
            (t) => t.segments.length === parts.length && t.segments.every((s, i) => s.startsWith("{") || s === parts[i]),
        );
        const literal = (t: { segments: string[] }) => t.segments.filter((s) => !s.startsWith("{")).length;
        return matches.sort((a, b) => literal(b) - literal(a))[0]?.template;
    }

    operation(method: string, template: string): Operation | undefined {
        return this.spec.paths[template]?.[method.toLowerCase()];
    }

    private resolve(ref: string): { node: any; at: string[] } {
        const at = ref
            .replace(/^#\//, "")
            .split("/")
            .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
        return { node: at.reduce((n, k) => n[k], this.spec), at };
    }

    /** Pointer to the JSON schema of a media object, following a $ref'd response or request body; undefined when the spec declares no body. */
    private schemaAt(node: any, at: string[]): string[] | undefined {
        if (node?.$ref) ({ node, at } = this.resolve(node.$ref));
        if (!node?.content?.["application/json"]?.schema) return undefined;
        return [...at, "content", "application/json", "schema"];
    }

    responseSchema(method: string, template: string, status: number): { at?: string[]; declared: boolean } {
        const op = this.operation(method, template)!;
        const key = op.responses[String(status)] || !this.defaultResponse ? String(status) : "default";
        const response = op.responses[key];
        if (!response) return { declared: false };
        return { at: this.schemaAt(response, ["paths", template, method.toLowerCase(), "responses", key]), declared: true };
    }

    requestSchema(method: string, template: string): string[] | undefined {
        const op = this.operation(method, template)!;
        return op.requestBody ? this.schemaAt(op.requestBody, ["paths", template, method.toLowerCase(), "requestBody"]) : undefined;
    }

    /** Ajv's errors for value against the schema at a pointer into the spec; [] when it is valid. */
    validate(at: string[], value: unknown): string[] {
        const key = pointer(at);
        let v = this.validators.get(key);
        if (!v) {
            v = this.ajv.compile({ $ref: `spec.json#${key}` });
            this.validators.set(key, v);
        }
        return v(value) ? [] : (v.errors ?? []).map((e) => `${e.instancePath || "/"} ${e.message} ${JSON.stringify(e.params)}`);
    }
}
