import type { ApiRequest, ApiResponse, Requester } from '../kube/request.js';

/**
 * A Requester for unit tests of request shapes: records every request and answers from
 * a handler. It checks what controller-kit sends; what the API server does with it is
 * tested against a real API server (`*.int.test.ts`).
 */
export function recordingRequester(handler: (request: ApiRequest) => ApiResponse | Promise<ApiResponse>): Requester & { requests: ApiRequest[] } {
  const requests: ApiRequest[] = [];
  const requester = async (request: ApiRequest) => {
    requests.push(request);
    return handler(request);
  };
  return Object.assign(requester, { requests });
}

/** Discovery answers for a few core kinds, so the resolver works offline. */
export function discovery(request: ApiRequest): ApiResponse | undefined {
  const documents: Record<string, Array<{ name: string; kind: string; namespaced: boolean }>> = {
    '/api/v1': [
      { name: 'configmaps', kind: 'ConfigMap', namespaced: true },
      { name: 'services', kind: 'Service', namespaced: true },
      { name: 'services/status', kind: 'Service', namespaced: true },
      { name: 'nodes', kind: 'Node', namespaced: false },
    ],
  };
  const resources = request.method === 'GET' ? documents[request.path] : undefined;
  return resources ? { statusCode: 200, body: { resources } } : undefined;
}
