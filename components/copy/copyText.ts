/**
 * PostgreSQL's COPY text format, one line at a time: fields separated by tabs,
 * `\N` for NULL, and backslash escapes for the characters that would break a
 * line (PostgreSQL writes `\\ \b \f \n \r \t \v`; it reads octal `\ooo` and hex
 * `\xhh` too). Only the fields a rule masks are decoded and encoded again: the
 * others pass through as the bytes PostgreSQL wrote.
 */

const DECODE: Record<string, string> = { b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v" };

/** A field's text as written in a COPY line; NULL for `\N`. */
export function decodeField(field: string): string | null {
    if (field === "\\N") return null;
    if (!field.includes("\\")) return field;
    let out = "";
    let bytes: number[] | undefined;
    const flushBytes = () => {
        if (bytes) out += Buffer.from(bytes).toString("utf8");
        bytes = undefined;
    };
    for (let i = 0; i < field.length; i++) {
        const ch = field[i];
        if (ch !== "\\" || i === field.length - 1) {
            flushBytes();
            out += ch;
            continue;
        }
        const next = field[++i];
        const octal = /^[0-7]{1,3}/.exec(field.slice(i, i + 3));
        const hex = next === "x" ? /^[0-9a-fA-F]{1,2}/.exec(field.slice(i + 1, i + 3)) : null;
        if (octal) {
            (bytes ??= []).push(parseInt(octal[0], 8) & 0xff);
            i += octal[0].length - 1;
        } else if (hex) {
            (bytes ??= []).push(parseInt(hex[0], 16));
            i += hex[0].length;
        } else {
            flushBytes();
            out += DECODE[next] ?? next;
        }
    }
    flushBytes();
    return out;
}

/** A value written as a COPY field (the inverse of {@link decodeField}). */
export function encodeField(value: string | null): string {
    if (value === null) return "\\N";
    return value.replace(/[\\\b\f\n\r\t\v]/g, (ch) => {
        switch (ch) {
            case "\\":
                return "\\\\";
            case "\b":
                return "\\b";
            case "\f":
                return "\\f";
            case "\n":
                return "\\n";
            case "\r":
                return "\\r";
            case "\t":
                return "\\t";
            default:
                return "\\v";
        }
    });
}

/** A COPY line (without its newline) split into its fields, still encoded. */
export function splitLine(line: string): string[] {
    return line.split("\t");
}

/** Encoded fields joined into a COPY line (without its newline). */
export function joinLine(fields: string[]): string {
    return fields.join("\t");
}
