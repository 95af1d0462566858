/**
 * Preloaded (node -r) by the plugin shim scripts/pulumi-cli.sh writes: the
 * dynamic-provider process the engine starts. @pulumi/pulumi's runtime loads
 * TypeScript's compiler at startup for its closure serializer, about a fifth
 * of a second, which that process never calls. This defers that
 * one module until something first uses it: nothing changes but when it loads.
 * An SDK that loads it otherwise is left alone (the hook then never matches).
 */
"use strict";
const Module = require("module");
const path = require("path");

const load = Module._load;
Module._load = function (request, parent, isMain) {
    if (request.endsWith("typescript-shim") && parent && parent.filename.includes(`${path.sep}@pulumi${path.sep}pulumi${path.sep}`)) {
        let real;
        const target = () => (real ??= load.call(Module, request, parent, isMain));
        return new Proxy(
            {},
            {
                get: (_t, key) => target()[key],
                has: (_t, key) => key in target(),
                ownKeys: () => Reflect.ownKeys(target()),
                getOwnPropertyDescriptor: (_t, key) => Reflect.getOwnPropertyDescriptor(target(), key),
            },
        );
    }
    return load.apply(this, arguments);
};

/*
 * A provider method that throws prints `${err}: ${err.stack}` here before the engine
 * reports the error's message as the step's error. Keel's own errors (KeelError,
 * components/errors.ts, which records their names in this set) carry their fix in the
 * message: the engine's line is enough, and the dump would say it twice with a stack.
 */
const keelErrorNames = (globalThis.__keelErrorNames ??= new Set());
const consoleError = console.error;
console.error = function (...args) {
    if (args.length === 1 && typeof args[0] === "string") {
        const name = /^(\w+): /.exec(args[0])?.[1];
        if (name && keelErrorNames.has(name)) return;
    }
    return consoleError.apply(this, args);
};
