/** The Fly dynamic providers' client: keel:flyApiToken (configure) or FLY_API_TOKEN; keel:flyApiUrl or FLY_API_URL. */
import { providerContext, ProviderContext } from "../../providerContext";
import { FlyClient, resolveFlyCredentials } from "../../vendors/fly";

export function flyContext(): ProviderContext<FlyClient> {
    return providerContext("fly", { secret: "flyApiToken", url: "flyApiUrl" }, (configToken, configUrl, env, log) => {
        const creds = resolveFlyCredentials({ configApiToken: configToken, configApiUrl: configUrl, env });
        return new FlyClient({ token: creds.token, baseUrl: creds.baseUrl, onProgress: log.info });
    });
}
