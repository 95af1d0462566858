/**
 * @vercel/sdk (Vercel's own typed client; its zod models are generated from
 * Vercel's OpenAPI) for the tests that hold the fake Vercel API to Vercel's
 * published contract. The SDK is an ES module: Node (>= 20.19, see
 * package.json engines) loads it with require(), through the package's
 * `./*` export (models/x.js is esm/models/x.js); the types are read from the
 * esm/ declarations directly.
 */
type SdkIndex = typeof import("@vercel/sdk/esm/index.js");
type DeploymentsModels = typeof import("@vercel/sdk/esm/models/getdeploymentsop.js");
type ProjectModels = typeof import("@vercel/sdk/esm/models/getprojectresponsebody.js");
type RollbackModels = typeof import("@vercel/sdk/esm/models/requestrollbackop.js");

/** A model schema: what the SDK parses a response with (lenient: missing scalars become zero values, unknown keys are dropped). */
export interface SdkSchema {
    safeParse(
        value: unknown,
    ): { success: true; data: unknown } | { success: false; error: { issues: { path: (string | number)[]; message: string }[] } };
}

export interface VercelSdk {
    Vercel: SdkIndex["Vercel"];
    /** GET /v7/deployments 200 (getDeployments). */
    getDeploymentsResponse: SdkSchema;
    /** GET /v9/projects/{idOrName} 200 (getProject). */
    getProjectResponse: SdkSchema;
    /** The request of POST /v1/projects/{projectId}/rollback/{deploymentId} (requestRollback; its 201 has no body). */
    requestRollbackRequest: RollbackModels["RequestRollbackRequest$outboundSchema"];
}

export function loadVercelSdk(): VercelSdk {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const index = require("@vercel/sdk") as SdkIndex;
    const deployments = require("@vercel/sdk/models/getdeploymentsop.js") as DeploymentsModels;
    const project = require("@vercel/sdk/models/getprojectresponsebody.js") as ProjectModels;
    const rollback = require("@vercel/sdk/models/requestrollbackop.js") as RollbackModels;
    /* eslint-enable @typescript-eslint/no-require-imports */
    return {
        Vercel: index.Vercel,
        getDeploymentsResponse: deployments.GetDeploymentsResponseBody$inboundSchema as unknown as SdkSchema,
        getProjectResponse: project.GetProjectResponseBody$inboundSchema as unknown as SdkSchema,
        requestRollbackRequest: rollback.RequestRollbackRequest$outboundSchema,
    };
}

/**
 * Where `value` (a response body as sent) departs from a model: what the
 * schema rejects, and, since the SDK's models are lenient, every difference
 * between the value and what the SDK reads from it: a field the model does
 * not know (dropped), a required one missing (filled in with a zero value),
 * or one read as something else (a string read as a number). [] when the
 * model reads exactly what was sent.
 */
export function contractProblems(schema: SdkSchema, value: unknown): string[] {
    const r = schema.safeParse(value);
    if (!r.success) return r.error.issues.map((i) => `${i.path.join(".") || "(body)"}: ${i.message}`);
    return differences(value, JSON.parse(JSON.stringify(r.data ?? null)), "");
}

function differences(sent: unknown, read: unknown, at: string): string[] {
    if (Array.isArray(sent)) {
        if (!Array.isArray(read) || read.length !== sent.length)
            return [`${at || "(body)"}: sent an array of ${sent.length}, the model reads ${JSON.stringify(read)}`];
        return sent.flatMap((x, i) => differences(x, read[i], `${at}[${i}]`));
    }
    if (sent && typeof sent === "object") {
        if (!read || typeof read !== "object" || Array.isArray(read))
            return [`${at || "(body)"}: sent an object, the model reads ${JSON.stringify(read)}`];
        const s = sent as Record<string, unknown>;
        const r = read as Record<string, unknown>;
        const out: string[] = [];
        for (const k of Object.keys(s)) {
            if (!(k in r)) out.push(`${at}.${k}: not in the model (the SDK drops it)`);
            else out.push(...differences(s[k], r[k], `${at}.${k}`));
        }
        for (const k of Object.keys(r))
            if (!(k in s)) out.push(`${at}.${k}: required by the model but not sent (the SDK reads ${JSON.stringify(r[k])})`);
        return out;
    }
    return Object.is(sent, read) ? [] : [`${at || "(body)"}: sent ${JSON.stringify(sent)}, the model reads ${JSON.stringify(read)}`];
}
