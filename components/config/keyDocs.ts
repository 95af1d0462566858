/**
 * What the generated config reference (reference.ts) says of a key beyond what its zod
 * schema holds: the name of a shared value format (a duration, an SQL identifier), and
 * the default a section's parser computes (a name from the project and the stack).
 * The one-line meaning is the schema's own `.describe()`. Pure: no Pulumi imports.
 */
import { z } from "zod";

export interface KeyDoc {
    /** What the value is, where "string" says too little: duration, identifier, host name. */
    format?: string;
    /** A default the parser works out (not a constant the schema can hold), in words. */
    computedDefault?: string;
}

export const keyDocs = z.registry<KeyDoc>();

/** Names a shared validator's format; register it on the validator itself, before any `.optional()` or `.default()`. */
export function withFormat<T extends z.ZodType>(schema: T, format: string): T {
    keyDocs.add(schema as z.ZodType, { ...keyDocs.get(schema), format });
    return schema;
}

/** Records the default the parser computes for a key; call it last, after `.describe()` (which copies the schema). */
export function computedDefault<T extends z.ZodType>(schema: T, text: string): T {
    keyDocs.add(schema as z.ZodType, { ...keyDocs.get(schema), computedDefault: text });
    return schema;
}
