/**
 * The masking strategies as per-value functions, deterministic under a per-stack
 * secret key: HMAC-SHA256 of the value (never of its table or column), so the same
 * value masks to the same output in every table and run and joins, foreign keys
 * and unique constraints survive; another key gives other outputs. NULL in gives
 * NULL out for every strategy. Values are the text form PostgreSQL gives (COPY).
 *
 * Uniqueness, for columns with a unique constraint:
 * - `phone` is a bijection: the digits go through a keyed Feistel network over
 *   decimal strings of their length, punctuation kept, so distinct inputs always
 *   give distinct outputs.
 * - `hash` is the full 256-bit HMAC as hex: a collision among n values has
 *   probability about n²/2²⁵⁷ (nil).
 * - `email` keeps 96 HMAC bits in its local part: about n²/2⁹⁷, 6·10⁻¹⁴ for a
 *   hundred million distinct addresses.
 * - `name` keeps 64 HMAC bits in its suffix (plus the list picks): about n²/2⁶⁵,
 *   3·10⁻⁶ for ten million distinct names.
 * - `text` and `fixed` promise no uniqueness; `keep` keeps the value.
 *
 * The `sql` strategy runs only in the database; its masker throws here.
 */
import { Cipher, createCipheriv, createHmac } from "crypto";
import { KeelError } from "../errors";
import { FixedValue, JsonPathStep, Rule, ScalarRule } from "./rules";

/** The reserved domain (RFC 2606) every masked email is at. */
export const MASKED_EMAIL_DOMAIN = "example.com";

const FIRST_NAMES = [
    "Ada", "Alan", "Amara", "Ana", "Ben", "Chen", "Dara", "Eli", "Emma", "Farah", "Grace", "Hana", "Ivan", "Jonas", "Kai", "Lena",
    "Leo", "Maya", "Mei", "Nia", "Noor", "Omar", "Priya", "Quinn", "Rosa", "Sam", "Sofia", "Tariq", "Uma", "Vera", "Wim", "Yusuf",
]; // prettier-ignore
const LAST_NAMES = [
    "Abara", "Berg", "Costa", "Dubois", "Eriksen", "Fischer", "Garcia", "Haddad", "Ito", "Jansen", "Kowalski", "Larsen", "Moreno",
    "Nakamura", "Okafor", "Patel", "Quist", "Rossi", "Silva", "Tanaka", "Urban", "Varga", "Weber", "Xu", "Yilmaz", "Zhang",
    "Novak", "Lindqvist", "Mensah", "Olsen", "Reyes", "Smit",
]; // prettier-ignore
const FILLER_WORDS = [
    "lorem", "ipsum", "dolor", "sit", "amet", "consectetur", "adipiscing", "elit", "sed", "do", "eiusmod", "tempor", "incididunt",
    "ut", "labore", "et", "magna", "aliqua", "enim", "ad", "minim", "veniam", "quis", "nostrud",
]; // prettier-ignore

/** The secret key of a stack; at least 16 bytes. */
export type MaskingKey = string | Buffer;

function checkKey(key: MaskingKey): void {
    if (Buffer.byteLength(key) < 16) {
        throw new KeelError(
            "The masking key is shorter than 16 bytes; generate one with `openssl rand -hex 32` and keep it as the stack's secret",
            "MaskingKeyError",
        );
    }
}

/** HMAC-SHA256 of the value under the key, separated per strategy (`domain`). */
export function hmac(key: MaskingKey, domain: string, value: string): Buffer {
    return createHmac("sha256", key).update(domain).update("\0").update(value).digest();
}

/** `hash`: the hex HMAC-SHA256 of the value (64 characters). */
export function maskHash(key: MaskingKey, value: string | null): string | null {
    if (value === null) return null;
    checkKey(key);
    return hmac(key, "hash", value).toString("hex");
}

/** `email`: `u<24 hex>@example.com`, nothing of the original kept. */
export function maskEmail(key: MaskingKey, value: string | null): string | null {
    if (value === null) return null;
    checkKey(key);
    return `u${hmac(key, "email", value).subarray(0, 12).toString("hex")}@${MASKED_EMAIL_DOMAIN}`;
}

/** `name`: a first and last name from built-in lists and a 16-hex HMAC suffix that keeps distinct inputs distinct. */
export function maskName(key: MaskingKey, value: string | null): string | null {
    if (value === null) return null;
    checkKey(key);
    const h = hmac(key, "name", value);
    return `${FIRST_NAMES[h[0] % FIRST_NAMES.length]} ${LAST_NAMES[h[1] % LAST_NAMES.length]} ${h.subarray(2, 10).toString("hex")}`;
}

/**
 * The round function of the phone's Feistel network: AES-128 under a key derived
 * from the stack's key, over (the shape's digest, the round, the half), as the
 * NIST format-preserving modes FF1 and FF3-1 do. One cipher per key, reused:
 * an ECB block is independent of the ones before it, and a block costs a fraction
 * of an HMAC (the phone's eight rounds were most of a masked copy's time).
 */
class PhoneRounds {
    private readonly cipher: Cipher;
    private readonly block = Buffer.alloc(16);
    private readonly tweaks = new Map<string, Buffer>();

    constructor(private readonly key: MaskingKey) {
        this.cipher = createCipheriv("aes-128-ecb", hmac(key, "phone-aes", "").subarray(0, 16), null);
        this.cipher.setAutoPadding(false);
    }

    /** 64 round bits for (tweak, round, half); halves over 16 digits go through HMAC (no phone number has them). */
    value(tweak: string, round: number, half: bigint): bigint {
        if (half >= 1n << 56n) return hmac(this.key, "phone", `${tweak}\0${round}\0${half}`).readBigUInt64BE(0);
        return this.encrypt(tweak, round, half).readBigUInt64BE(0);
    }

    /** 48 round bits as a number, for halves of at most 8 digits (sums stay exact below 2^53). */
    small(tweak: string, round: number, half: number): number {
        return this.encrypt(tweak, round, BigInt(half)).readUIntBE(0, 6);
    }

    private encrypt(tweak: string, round: number, half: bigint): Buffer {
        let digest = this.tweaks.get(tweak);
        if (!digest) {
            digest = hmac(this.key, "phone-tweak", tweak).subarray(0, 8);
            if (this.tweaks.size < 1024) this.tweaks.set(tweak, digest);
        }
        // The block: the shape's digest (8 bytes), the round (1 byte), the half (7 bytes: under 2^56).
        digest.copy(this.block, 0);
        this.block.writeBigUInt64BE(half, 8);
        this.block.writeUInt8(round, 8);
        return this.cipher.update(this.block);
    }
}

const phoneRounds = new Map<string, PhoneRounds>();

function roundsFor(key: MaskingKey): PhoneRounds {
    const id = typeof key === "string" ? key : key.toString("hex");
    let r = phoneRounds.get(id);
    if (!r) {
        r = new PhoneRounds(key);
        if (phoneRounds.size > 16) phoneRounds.clear();
        phoneRounds.set(id, r);
    }
    return r;
}

/** A keyed bijection on decimal strings of one length (a Feistel network, 8 rounds). */
function permuteDigits(key: MaskingKey, tweak: string, digits: string): string {
    const n = digits.length;
    if (n === 0) return digits;
    const a = Math.floor(n / 2);
    const b = n - a;
    const rounds = roundsFor(key);
    if (n <= 16) {
        // Numbers: halves below 10^8, round values below 2^48.
        const [modA, modB] = [10 ** a, 10 ** b];
        let [left, right] = [a === 0 ? 0 : Number(digits.slice(0, a)), Number(digits.slice(a))];
        for (let i = 0; i < 8; i++) {
            if (i % 2 === 0) right = (right + rounds.small(tweak, i, left)) % modB;
            else left = (left + rounds.small(tweak, i, right)) % modA;
        }
        return (a === 0 ? "" : String(left).padStart(a, "0")) + String(right).padStart(b, "0");
    }
    const modA = 10n ** BigInt(a);
    const modB = 10n ** BigInt(b);
    let left = a === 0 ? 0n : BigInt(digits.slice(0, a));
    let right = BigInt(digits.slice(a));
    // 64 round bits: the network is a bijection whatever the round values.
    for (let i = 0; i < 8; i++) {
        if (i % 2 === 0) right = (right + rounds.value(tweak, i, left)) % modB;
        else left = (left + rounds.value(tweak, i, right)) % modA;
    }
    return (a === 0 ? "" : left.toString().padStart(a, "0")) + right.toString().padStart(b, "0");
}

/**
 * `phone`: the same length and punctuation, every digit replaced; a bijection, so
 * distinct inputs stay distinct. A value without digits is kept as it is.
 */
export function maskPhone(key: MaskingKey, value: string | null): string | null {
    if (value === null) return null;
    checkKey(key);
    const digits = value.replace(/[^0-9]/g, "");
    const shape = value.replace(/[0-9]/g, "#");
    const out = permuteDigits(key, shape, digits);
    let i = 0;
    return value.replace(/[0-9]/g, () => out[i++]);
}

/** `text`: filler words of the value's length (cut to it), from the HMAC of the value. */
export function maskText(key: MaskingKey, value: string | null): string | null {
    if (value === null) return null;
    checkKey(key);
    const length = [...value].length;
    const words: string[] = [];
    let total = -1;
    for (let block = 0; total < length; block++) {
        const h = hmac(key, "text", `${block}\0${value}`);
        for (const byte of h) {
            if (total >= length) break;
            const w = FILLER_WORDS[byte % FILLER_WORDS.length];
            words.push(w);
            total += w.length + 1;
        }
    }
    return words.join(" ").slice(0, length);
}

/** `text` with a pattern: each match replaced in shape (digits by digits, letters by letters, the rest kept), the rest of the value kept. */
export function maskTextPattern(key: MaskingKey, pattern: RegExp, value: string | null): string | null {
    if (value === null) return null;
    checkKey(key);
    const global = pattern.global ? pattern : new RegExp(pattern.source, pattern.flags + "g");
    return value.replace(global, (match: string) => {
        const h = hmac(key, "pattern", match);
        let i = 0;
        return match.replace(/[0-9A-Za-z]/g, (ch) => {
            const byte = h[i++ % h.length] ^ i;
            if (/[0-9]/.test(ch)) return String(byte % 10);
            const letter = String.fromCharCode(97 + (byte % 26));
            return ch === ch.toUpperCase() ? letter.toUpperCase() : letter;
        });
    });
}

/** `fixed`: the value (as text), NULL kept NULL. */
export function maskFixed(fixed: FixedValue, value: string | null): string | null {
    if (value === null || fixed === null) return null;
    return String(fixed);
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

type ValueMasker = (value: string | null) => string | null;

/** One JSON value masked by a scalar rule; strings and numbers go through as text, containers are replaced whole by `null`/`fixed`/`hash`. */
function maskJsonLeaf(rule: ScalarRule, mask: ValueMasker, v: Json): Json {
    if (v === null) return null;
    if (rule.kind === "keep") return v;
    if (rule.kind === "null") return null;
    if (rule.kind === "fixed") return rule.value;
    return mask(typeof v === "string" ? v : JSON.stringify(v));
}

interface JsonLeafRule {
    steps: JsonPathStep[];
    rule: ScalarRule;
    mask: ValueMasker;
}

/** Masks the values at the path in place (the document was just parsed, and is the masker's own). */
function applyPath(node: Json, steps: JsonPathStep[], leaf: JsonLeafRule): Json {
    if (steps.length === 0) return maskJsonLeaf(leaf.rule, leaf.mask, node);
    const [step, ...rest] = steps;
    if ("key" in step) {
        if (node === null || typeof node !== "object" || Array.isArray(node) || !Object.prototype.hasOwnProperty.call(node, step.key))
            return node;
        node[step.key] = applyPath(node[step.key], rest, leaf);
        return node;
    }
    if (!Array.isArray(node)) return node;
    if (step.index === "*") {
        for (let i = 0; i < node.length; i++) node[i] = applyPath(node[i], rest, leaf);
    } else if (step.index < node.length) {
        node[step.index] = applyPath(node[step.index], rest, leaf);
    }
    return node;
}

function jsonMasker(key: MaskingKey, paths: { steps: JsonPathStep[]; rule: ScalarRule }[]): ValueMasker {
    const leaves = paths.map((p) => ({ ...p, mask: cached(scalarMasker(key, p.rule)) }));
    return (value) => {
        if (value === null) return null;
        let doc = JSON.parse(value) as Json;
        for (const leaf of leaves) doc = applyPath(doc, leaf.steps, leaf);
        return JSON.stringify(doc);
    };
}

/** `json`: the document with each path's values masked by its rule; the rest kept. Text in, text out. */
export function maskJson(key: MaskingKey, paths: { steps: JsonPathStep[]; rule: ScalarRule }[], value: string | null): string | null {
    return jsonMasker(key, paths)(value);
}

/** Entries a masker remembers: a copy meets the same value again and again (foreign keys, a customer in every order). */
const CACHE_ENTRIES = 1 << 16;

/** The masker with its recent results remembered (the masks are deterministic, so a hit is the same answer, with no HMAC). */
function cached(mask: ValueMasker): ValueMasker {
    let memo = new Map<string, string | null>();
    return (value) => {
        if (value === null) return null;
        const hit = memo.get(value);
        if (hit !== undefined || memo.has(value)) return hit ?? null;
        const out = mask(value);
        if (memo.size >= CACHE_ENTRIES) memo = new Map();
        memo.set(value, out);
        return out;
    };
}

function scalarMasker(key: MaskingKey, rule: ScalarRule): ValueMasker {
    switch (rule.kind) {
        case "email":
            return (v) => maskEmail(key, v);
        case "name":
            return (v) => maskName(key, v);
        case "phone":
            return (v) => maskPhone(key, v);
        case "hash":
            return (v) => maskHash(key, v);
        case "null":
            return () => null;
        case "keep":
            return (v) => v;
        case "fixed":
            return (v) => maskFixed(rule.value, v);
        case "text":
            return "pattern" in rule ? (v) => maskTextPattern(key, rule.pattern, v) : (v) => maskText(key, v);
    }
}

export interface Strategy {
    rule: Rule;
    /** True for `sql`: it masks only in the database, and {@link Strategy.mask} throws. */
    inDatabaseOnly: boolean;
    /** Masks one value (its text form); NULL in, NULL out. */
    mask(value: string | null): string | null;
}

/** The per-value masker of a rule under a stack's key. */
export function strategyFor(rule: Rule, key: MaskingKey): Strategy {
    checkKey(key);
    if (rule.kind === "sql") {
        return {
            rule,
            inDatabaseOnly: true,
            mask: () => {
                throw new KeelError(
                    `The rule { sql: ${JSON.stringify(rule.sql)} } masks only in the database; mask this column with SQL`,
                    "MaskingStrategyError",
                );
            },
        };
    }
    if (rule.kind === "json") return { rule, inDatabaseOnly: false, mask: jsonMasker(key, rule.paths) };
    return { rule, inDatabaseOnly: false, mask: cached(scalarMasker(key, rule)) };
}
