/** A file:// backend: the same operations on a directory. */
import * as fs from "fs";
import * as path from "path";
import type { StoreLocation } from "./backendUrl";
import { StateStore, StoredObject, storeFailure } from "./store";

export function fileStore(location: StoreLocation): StateStore {
    const root = location.bucket;
    const abs = (key: string) => path.join(root, ...key.split("/"));
    const hint = `Check that the directory exists and this user may read and write it`;
    return {
        display: location.display,
        async list(dir) {
            let names: fs.Dirent[];
            try {
                names = fs.readdirSync(abs(dir), { withFileTypes: true });
            } catch (err: any) {
                if (err.code === "ENOENT") return [];
                throw storeFailure(location.display, "listing", dir, err, hint);
            }
            return names
                .filter((d) => d.isFile())
                .map((d): StoredObject => {
                    const st = fs.statSync(path.join(abs(dir), d.name));
                    return { key: `${dir}${d.name}`, tag: `${st.mtimeMs}:${st.size}` };
                });
        },
        async read(key) {
            try {
                return fs.readFileSync(abs(key));
            } catch (err: any) {
                if (err.code === "ENOENT") return undefined;
                throw storeFailure(location.display, "reading", key, err, hint);
            }
        },
        async createIfAbsent(key, body) {
            fs.mkdirSync(path.dirname(abs(key)), { recursive: true });
            try {
                fs.writeFileSync(abs(key), body, { flag: "wx" });
                return true;
            } catch (err: any) {
                if (err.code === "EEXIST") return false;
                throw storeFailure(location.display, "creating", key, err, hint);
            }
        },
        async remove(key) {
            fs.rmSync(abs(key), { force: true });
        },
    };
}
