import { ModelError, type ModelClient } from './model-client.ts';

/**
 * The model client's errors name the setting to fix but not the endpoint (the SDK's errors do
 * not carry the URL): this names it too, so "unreachable" or "404" says which server answered.
 * `baseUrl` is OPENAI_BASE_URL; unset, the SDK's default endpoint is meant and the message says so.
 */
export function nameEndpointInErrors(client: ModelClient, baseUrl: string | undefined): ModelClient {
  const where = baseUrl ? `model API at ${baseUrl}` : 'model API (the default endpoint: OPENAI_BASE_URL is unset)';
  const named = (err: unknown): never => {
    throw err instanceof ModelError ? new ModelError(err.message.replace(/^model API/, where), err.status, err.code) : err;
  };
  const compact = client.compact?.bind(client);
  return {
    complete: (request, signal) => client.complete(request, signal).catch(named),
    ...(compact && { compact: (request, signal) => compact(request, signal).catch(named) }),
  };
}
