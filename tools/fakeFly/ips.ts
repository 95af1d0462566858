/** The fake Fly API's IP assignments: v4, v6, the shared v4 and private v6 addresses. */
import { HttpError } from "../fakeHttp";
import type { FakeFlyApp } from "./types";
import { ipView, iso } from "./views";

export function routeIps(app: FakeFlyApp, p: string[], method: string, body: any, nowMs: number, nextSeq: () => number): [number, unknown] {
    if (p.length === 3 && method === "GET") return [200, { ips: app.ips.map((ip) => ipView(ip)) }];
    if (p.length === 3 && method === "POST") {
        const type = body?.type;
        if (!["v4", "v6", "shared_v4", "private_v6"].includes(type))
            throw new HttpError(400, `invalid ip type ${JSON.stringify(type)}: v4, v6, shared_v4 or private_v6`);
        const n = nextSeq();
        const ip =
            type === "shared_v4"
                ? "66.241.124.1"
                : type === "v4"
                  ? `137.66.${Math.floor(n / 250) % 250}.${(n % 250) + 1}`
                  : type === "v6"
                    ? `2a09:8280:1::${n.toString(16)}:0`
                    : `fdaa:0:1::${n.toString(16)}`;
        if (type === "shared_v4" && app.ips.some((x) => x.ip === ip)) return [200, ipView(app.ips.find((x) => x.ip === ip)!)];
        const record = {
            ip,
            type,
            region: body?.region ?? "global",
            service_name: body?.service_name ?? "",
            shared: type === "shared_v4",
            created_at: iso(nowMs),
        };
        app.ips.push(record);
        return [200, ipView(record)];
    }
    if (p.length === 4 && method === "DELETE") {
        const i = app.ips.findIndex((x) => x.ip === p[3]);
        if (i < 0) throw new HttpError(404, `ip ${p[3]} not found`);
        app.ips.splice(i, 1);
        return [204, undefined];
    }
    throw new HttpError(404, "not found");
}
