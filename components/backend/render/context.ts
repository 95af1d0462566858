/** The Render dynamic providers' client: keel:renderApiKey (configure) or RENDER_API_KEY; keel:renderApiUrl or RENDER_API_URL. */
import { providerContext, ProviderContext } from "../../providerContext";
import { RenderClient, renderClient, resolveRenderCredentials } from "../../vendors/render";

export function renderContext(): ProviderContext<RenderClient> {
    return providerContext("render", { secret: "renderApiKey", url: "renderApiUrl" }, (configKey, configUrl, env, log) => {
        const creds = resolveRenderCredentials({ configApiKey: configKey, configApiUrl: configUrl, env });
        return renderClient({ apiKey: creds.apiKey, baseUrl: creds.baseUrl, onProgress: log.info });
    });
}
