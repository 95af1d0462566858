/**
 * no-plaintext-secrets: secrets (as the SDK sees them once the pack keeps them
 * visible) pass, plain text under secret-looking keys fails; what the SDK does
 * to secrets without the switch; and the fallback when it cannot be switched.
 */
import { strict as assert } from "assert";
import * as fs from "fs";
import * as path from "path";
import { Secret, unknownCheckingProxy } from "@pulumi/policy";
import { parse } from "yaml";
import { noPlaintextSecrets, plaintextSecrets } from "../../policies/rules/noPlaintextSecrets";
import { keepSecretsVisible, raw, SECRET_SIG, SECRET_SIG_KEY, setSecretsVisible } from "../../policies/support";
import { baseline, changed, res, secret, T, UNKNOWN, validateResource } from "./baseline";

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Struct } = require("google-protobuf/google/protobuf/struct_pb");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const deserialize = require("@pulumi/policy/deserialize");
/** The SDK's function as shipped (captured before any test switches it). */
const shippedDeserialize = deserialize.deserializeProperties;

describe("policy no-plaintext-secrets", () => {
    beforeEach(() => setSecretsVisible(true));
    after(() => setSecretsVisible(false));

    const stack = baseline();

    it("a plain env var named like a secret is mandatory in prod, advisory in dev, with the fix", async () => {
        const prod = changed(stack, T.flyMachines, (r) => (r.props.env.STRIPE_SECRET_KEY = "sk_live_123"));
        const v = await validateResource(noPlaintextSecrets, prod);
        assert.equal(v.length, 1);
        assert.equal(v[0].enforcementLevel, "mandatory");
        assert.match(v[0].message, /backend-fly-machines/);
        assert.match(v[0].message, /env\.STRIPE_SECRET_KEY/);
        assert.match(v[0].message, /npm run pulumi -- config set --secret/);
        assert.ok(!v[0].message.includes("sk_live_123"), "the value is never printed");
        const dev = changed(baseline("dev"), T.flyMachines, (r) => (r.props.env.STRIPE_SECRET_KEY = "sk_live_123"));
        assert.equal((await validateResource(noPlaintextSecrets, dev))[0].enforcementLevel, "advisory");
    });

    it("the same value as a secret (wire form or the SDK's Secret) passes", async () => {
        for (const wrap of [secret, (v: string) => new Secret(v)]) {
            const r = changed(stack, T.flyMachines, (x) => (x.props.env.STRIPE_SECRET_KEY = "x"));
            r.props.env.STRIPE_SECRET_KEY = wrap("sk_live_123");
            assert.deepEqual(await validateResource(noPlaintextSecrets, r), []);
        }
    });

    it("a plain databaseUrl on the schema resource fails even though it is listed in additionalSecretOutputs", async () => {
        const r = changed(stack, T.schema, (x) => (x.props.databaseUrl = "postgres://app:hunter2@db/app"));
        const v = await validateResource(noPlaintextSecrets, r);
        assert.equal(v.length, 1);
        assert.match(v[0].message, /at databaseUrl/);
    });

    it("nested keys, key/value pairs and NAME=value strings are found", () => {
        const found = plaintextSecrets({
            registry: { server: "ghcr.io", username: "bot", password: "pw" },
            envVars: [
                { key: "GITHUB_TOKEN", value: "ghp_1" },
                { name: "LOG_LEVEL", value: "info" },
            ],
            envs: ["POSTGRES_PASSWORD=pw", "POSTGRES_USER=app"],
            connection_string: "Server=db;Password=pw",
            apiKey: "k",
        }).map((f) => f.path);
        assert.deepEqual(
            found.sort(),
            ["apiKey", "connection_string", "envVars[0].value (GITHUB_TOKEN)", "envs[0] (POSTGRES_PASSWORD=…)", "registry.password"].sort(),
        );
    });

    it("unknown, empty, ${{ secrets.X }} references, non-strings and names of secrets are ignored", () => {
        assert.deepEqual(
            plaintextSecrets({
                token: UNKNOWN,
                password: "",
                env: { GITHUB_TOKEN: "${{ secrets.GITHUB_TOKEN }}", NPM_TOKEN: "  " },
                passwordless: true,
                minSecretsVersion: 3,
                databaseUrlEnv: "DATABASE_URL",
                secretName: "stripe",
            }),
            [],
        );
    });

    it("reads through the SDK's unknown-checking proxy without tripping on unknown values", async () => {
        const r = changed(stack, T.flyMachines, (x) => {
            x.props.env.STRIPE_SECRET_KEY = "sk_live_123";
            x.props.secretsVersion = UNKNOWN;
        });
        const v = await validateResource(noPlaintextSecrets, r, unknownCheckingProxy(r.props));
        assert.equal(v.length, 1);
    });

    it("JSON text is searched too; a plain value under a secret-looking key is reported whole", () => {
        assert.deepEqual(
            plaintextSecrets({ settings: JSON.stringify({ registry: { password: "pw" } }), note: "{not json", list: "[1, 2]" }).map(
                (f) => f.path,
            ),
            ["settings.registry.password"],
        );
        assert.deepEqual(
            plaintextSecrets({ password: JSON.stringify({ a: "b" }) }).map((f) => f.path),
            ["password"],
        );
    });

    describe("the stack's config, as the dynamic provider gets it", () => {
        const PROVIDER = "pulumi:providers:pulumi-nodejs";
        /** A stack file's config as the engine hands it to the provider: object values as JSON text, secure values as secrets. */
        const providerInputs = (file: string): Record<string, unknown> => {
            const config = parse(fs.readFileSync(path.join(__dirname, "..", "..", file), "utf8")).config as Record<string, unknown>;
            return Object.fromEntries(
                Object.entries(config).map(([k, v]) => [
                    k,
                    v !== null && typeof v === "object"
                        ? (v as any).secure !== undefined
                            ? secret("decrypted")
                            : JSON.stringify(v)
                        : String(v),
                ]),
            );
        };

        it("the committed staging and prod stack files pass", async () => {
            for (const [stack, file] of [
                ["prod", "Pulumi.prod.yaml"],
                ["staging", "Pulumi.staging.yaml"],
            ]) {
                const inputs = { ...providerInputs(file), "keel:flyApiToken": secret("fo1_x"), "keel:neonApiKey": secret("napi_x") };
                assert.deepEqual(await validateResource(noPlaintextSecrets, res(stack, PROVIDER, "default", inputs)), [], file);
            }
        });

        it("a plain env var in keel:backend is reported on the provider, with the move to keel:backendSecrets", async () => {
            const inputs = providerInputs("Pulumi.prod.yaml");
            const backend = JSON.parse(inputs["keel:backend"] as string);
            backend.env.STRIPE_SECRET_KEY = "sk_live_123";
            inputs["keel:backend"] = JSON.stringify(backend);
            const v = await validateResource(noPlaintextSecrets, res("prod", PROVIDER, "default", inputs));
            assert.equal(v.length, 1);
            assert.equal(v[0].enforcementLevel, "mandatory");
            assert.match(v[0].message, /at keel:backend\.env\.STRIPE_SECRET_KEY, /);
            assert.match(
                v[0].message,
                /Fix: move it to secret config: npm run pulumi -- config rm --path keel:backend\.env\.STRIPE_SECRET_KEY --stack prod; npm run pulumi -- config set --secret --path keel:backendSecrets\.STRIPE_SECRET_KEY <value> --stack prod\.$/,
            );
            assert.ok(!v[0].message.includes("sk_live_123"), "the value is never printed");
        });

        it("a credential set without --secret is reported with the command that makes it secret", async () => {
            const v = await validateResource(noPlaintextSecrets, res("staging", PROVIDER, "default", { "keel:neonApiKey": "napi_plain" }));
            assert.equal(v.length, 1);
            assert.match(
                v[0].message,
                /Fix: make it a secret: npm run pulumi -- config set --secret --path keel:neonApiKey <value> --stack staging/,
            );
        });
    });

    describe("what the SDK hands a policy", () => {
        const wire = { databaseUrl: { [SECRET_SIG_KEY]: SECRET_SIG, value: "postgres://a:b@h/d" }, env: { API_TOKEN: "plain" } };

        it("as shipped, validateResource's deserialization unwraps secrets: a secret and plain text look the same", () => {
            const props = shippedDeserialize(Struct.fromJavaScript(wire), false);
            assert.equal(props.databaseUrl, "postgres://a:b@h/d");
            assert.equal(raw(props).databaseUrl, "postgres://a:b@h/d");
        });

        it("with the pack's switch, props still read plain and the raw tree keeps the secret", async () => {
            assert.equal(keepSecretsVisible(), true);
            const props = unknownCheckingProxy(deserialize.deserializeProperties(Struct.fromJavaScript(wire), false));
            assert.equal(props.databaseUrl, "postgres://a:b@h/d", "rules reading props normally see the value");
            assert.ok(raw(props).databaseUrl instanceof Secret);
            const v = await validateResource(noPlaintextSecrets, res("prod", T.schema, "schema-migrations", {}), props);
            assert.equal(v.length, 1, "only the plain API_TOKEN");
            assert.match(v[0].message, /env\.API_TOKEN/);
        });
    });

    describe("when secrets cannot be seen (fallback)", () => {
        beforeEach(() => setSecretsVisible(false));

        it("values under a property in additionalSecretOutputs are accepted", async () => {
            const r = changed(stack, T.renderService, (x) => (x.props.envVars = { DATABASE_URL: "postgres://a:b@h/d" }));
            assert.deepEqual(await validateResource(noPlaintextSecrets, r), []);
        });

        it("anything else is reported, saying to declare the property secret", async () => {
            const r = changed(stack, T.renderService, (x) => (x.opts.additionalSecretOutputs = []));
            r.props.envVars = { DATABASE_URL: "postgres://a:b@h/d" };
            const v = await validateResource(noPlaintextSecrets, r);
            assert.equal(v.length, 1);
            assert.match(v[0].message, /additionalSecretOutputs/);
        });
    });
});
