/** The fake Fly API's app secrets: a version counter, values shown only when asked (show_secrets). */
import { HttpError } from "../fakeHttp";
import type { FakeFlyApp } from "./types";
import { iso, secretView } from "./views";

export function routeSecrets(
    app: FakeFlyApp,
    p: string[],
    method: string,
    q: URLSearchParams,
    body: any,
    nowMs: number,
): [number, unknown] {
    const show = q.get("show_secrets") === "true";
    if (p.length === 3 && method === "GET") return [200, { secrets: [...app.secrets.keys()].sort().map((n) => secretView(app, n, show)) }];
    if (p.length === 3 && method === "POST") {
        const values = body?.values;
        if (!values || typeof values !== "object") throw new HttpError(400, "values is required");
        for (const [name, value] of Object.entries(values)) {
            if (value !== null && typeof value !== "string") throw new HttpError(400, `value of ${name} must be a string or null`);
        }
        for (const [name, value] of Object.entries(values)) {
            if (value === null) app.secrets.delete(name);
            else setSecret(app, name, value as string, nowMs);
        }
        app.secretsVersion++;
        return [
            200,
            {
                version: app.secretsVersion,
                Version: app.secretsVersion,
                secrets: [...app.secrets.keys()].sort().map((n) => secretView(app, n, false)),
            },
        ];
    }
    const name = p[3];
    if (p.length === 4 && method === "GET") {
        if (!app.secrets.has(name)) throw new HttpError(404, `secret ${name} not found`);
        return [200, secretView(app, name, show)];
    }
    if (p.length === 4 && method === "POST") {
        if (typeof body?.value !== "string") throw new HttpError(400, "value is required");
        setSecret(app, name, body.value, nowMs);
        app.secretsVersion++;
        return [201, { ...(secretView(app, name, false) as object), version: app.secretsVersion, Version: app.secretsVersion }];
    }
    if (p.length === 4 && method === "DELETE") {
        if (!app.secrets.has(name)) throw new HttpError(404, `secret ${name} not found`);
        app.secrets.delete(name);
        app.secretsVersion++;
        return [200, { version: app.secretsVersion, Version: app.secretsVersion }];
    }
    throw new HttpError(404, "not found");
}

/** Sets a secret, keeping its created_at. */
function setSecret(app: FakeFlyApp, name: string, value: string, nowMs: number): void {
    const existing = app.secrets.get(name);
    app.secrets.set(name, { value, created_at: existing?.created_at ?? iso(nowMs), updated_at: iso(nowMs) });
}
