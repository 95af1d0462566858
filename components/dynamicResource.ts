/**
 * Keel's dynamic resources, and how the engine finds their providers.
 *
 * A dynamic resource carries its provider in the `__provider` input: the text
 * of a module whose `handler()` returns the provider object, which the engine's
 * nodejs dynamic-provider plugin loads with require-from-string, in the project
 * directory. Pulumi's own `dynamic.Resource` fills it by serializing the
 * provider with everything it captures (over 100 KB per resource, stored in the
 * state and serialized again, with TypeScript's parser, at every preview).
 * Keel writes a stand-in instead: a few lines that name the module exporting
 * the provider (relative to the project) and load it when a method is called,
 * through tools/build.js (the built file, rebuilt first when its source is
 * newer; the source itself where ts-node is loaded, as in the tests).
 *
 * Why this is safe for refresh and destroy, which run the provider stored in
 * the state, possibly written by an older Keel: the plugin runs in the project
 * directory, so the stand-in loads the project's current implementation, which
 * reads the outputs of every older Keel (a resource's outputs carry the version
 * of their shape). Nothing but the module's id and the export's name is in the
 * text: no credential, no client, no path of the machine that wrote it.
 */
import * as pulumi from "@pulumi/pulumi";
import * as path from "path";

/** `pulumi-nodejs:dynamic/keel:<name>`: the type token the engine and the policy pack see. */
export function dynamicType(name: string): string {
    return `pulumi-nodejs:dynamic/keel:${name}`;
}

/**
 * The stack's stage as Keel's config resolves it (keel:stage, else the stack's
 * name; config validation has checked it): what the policy pack judges a
 * resource by, carried in every Keel resource's `stage` input.
 */
export function stackStage(): string {
    return new pulumi.Config("keel").get("stage") || pulumi.getStack();
}

export abstract class KeelDynamicResource extends pulumi.CustomResource {
    /** `type` is the class's own `__pulumiType` (dynamicType): policies select resources by the class, not a string. */
    constructor(provider: object, type: string, name: string, props: Record<string, unknown>, opts?: pulumi.CustomResourceOptions) {
        super(type, name, { ...props, stage: stackStage(), __provider: standInSource(provider) }, opts);
    }
}

const sources = new Map<object, string>();

/** The `__provider` text for a provider exported by one of Keel's modules. */
export function standInSource(provider: object): string {
    const known = sources.get(provider);
    if (known) return known;
    const { moduleId, exportName } = exporterOf(provider);
    const methods = Object.keys(provider).filter((k) => typeof (provider as Record<string, unknown>)[k] === "function");
    const text = [
        `// Keel's ${exportName}: loaded by name from the project directory (components/dynamicResource.ts).`,
        `exports.handler = function () {`,
        `    var load = function () { return require(require("path").resolve("tools/build.js")).load(${JSON.stringify(moduleId)})[${JSON.stringify(exportName)}]; };`,
        `    var call = function (method) { return function () { var p = load(); return p[method].apply(p, arguments); }; };`,
        `    return { ${methods.map((m) => `${m}: call(${JSON.stringify(m)})`).join(", ")} };`,
        `};`,
        ``,
    ].join("\n");
    sources.set(provider, text);
    return text;
}

/** The project-relative module (`components/backend/fly/app`) and the export that hold a provider. */
function exporterOf(provider: object): { moduleId: string; exportName: string } {
    // components/ sits in the project root, or in dist/ when built.
    const sourceRoot = path.resolve(__dirname, "..");
    for (const [file, mod] of Object.entries(require.cache)) {
        const exports = mod?.exports;
        if (!exports || typeof exports !== "object" || !file.startsWith(sourceRoot + path.sep)) continue;
        const exportName = Object.keys(exports).find((k) => exports[k] === provider);
        if (exportName) {
            const moduleId = path.relative(sourceRoot, file).replace(/\.(ts|js)$/, "").split(path.sep).join("/");
            return { moduleId, exportName };
        }
    }
    throw new Error("a dynamic provider must be exported from a module of Keel's components/ so that the engine can load it by name");
}
