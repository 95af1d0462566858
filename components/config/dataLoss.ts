/**
 * `keel:allowDataLoss`: the names of the data-holding resources (components/dataGuard.ts)
 * that the next update may delete or replace. A name that is not one of them is a
 * problem (a typo must not leave the guard up while the user thinks it is down, nor
 * lift another one). Pure: no Pulumi imports.
 */
import { DATA_HOLDER_NAMES, dataHolders } from "../dataGuard";
import { ConfigContext, NAMESPACE, parseJsonValue } from "./context";
import type { DatabaseConfig } from "./database";

/**
 * The names the stack allows to go: `keel:allowDataLoss` (a name or a list of names), and,
 * as before it existed, every Neon resource when `keel:database.neon.allowDelete` is true.
 */
export function parseAllowDataLoss(ctx: ConfigContext, database: DatabaseConfig | undefined): string[] {
    const raw = ctx.get("allowDataLoss");
    const names: string[] = [];
    if (raw !== undefined && raw !== "") {
        const value = parseJsonValue(raw);
        const list = Array.isArray(value) ? value : [value];
        for (const [i, item] of list.entries()) {
            const where = `${NAMESPACE}:allowDataLoss${Array.isArray(value) ? `[${i}]` : ""}`;
            if (typeof item === "string" && DATA_HOLDER_NAMES.includes(item)) names.push(item);
            else {
                const here = database ? dataHolders(database.kind).map((h) => h.name) : DATA_HOLDER_NAMES;
                ctx.problems.push({
                    key: where,
                    message: `${JSON.stringify(item)} is not a resource that holds data; expected one of ${here.join(", ")}`,
                    fix: `npm run pulumi -- config rm ${NAMESPACE}:allowDataLoss --stack ${ctx.stack}, or correct the name`,
                });
            }
        }
    }
    // The older key covers the Neon objects, not the schema resource.
    if (database?.kind === "neon" && database.allowDelete)
        names.push(...dataHolders("neon").flatMap((h) => (h.name.startsWith("database-") ? [h.name] : [])));
    return [...new Set(names)];
}
