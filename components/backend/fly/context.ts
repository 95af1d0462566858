/** The Fly dynamic providers' client: keel:flyApiToken (configure) or FLY_API_TOKEN; keel:flyApiUrl or FLY_API_URL. */
import { providerContext, ProviderContext } from "../../providerContext";
import { FlyClient, flyClient, resolveFlyCredentials } from "../../vendors/fly";

export function flyContext(): ProviderContext<FlyClient> {
    // Local modules are captured by value by the closure serializer (a relative require would not resolve there).
    return providerContext("fly", { secret: "flyApiToken", url: "flyApiUrl" }, (configToken, configUrl, env, log) => {
        const creds = resolveFlyCredentials({ configApiToken: configToken, configApiUrl: configUrl, env });
        return flyClient({ token: creds.token, baseUrl: creds.baseUrl, onProgress: log.info });
    });
}
