/** The store a self-managed backend URL names, through that vendor's own SDK. */
import { StoreLocation } from "./backendUrl";
import { azblobStore } from "./azblobStore";
import { fileStore } from "./fileStore";
import { gcsStore } from "./gcsStore";
import { s3Store } from "./s3Store";
import type { StateStore } from "./store";

export { parseStateBackend, redactBackendUrl, BackendUrlError } from "./backendUrl";
export type { StateBackend, StoreLocation, StoreKind } from "./backendUrl";
export { StateStoreError } from "./store";
export type { StateStore, StoredObject } from "./store";

export function openStateStore(location: StoreLocation, env: Record<string, string | undefined>): StateStore {
    switch (location.kind) {
        case "file":
            return fileStore(location);
        case "s3":
            return s3Store(location, env);
        case "gs":
            return gcsStore(location, env);
        case "azblob":
            return azblobStore(location, env);
    }
}
