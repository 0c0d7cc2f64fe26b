/** A small JSON-over-HTTP client for tests, speaking as one user. */
export interface TestClient {
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any; text: string }>;
}

/** Calls `baseUrl` with `Authorization: Bearer <token>` when a token is given. */
export function client(baseUrl: string, token?: string, seen?: string[]): TestClient {
  return {
    async call(method, path, body) {
      const headers: Record<string, string> = {};
      if (token) headers.authorization = `Bearer ${token}`;
      if (body !== undefined) headers["content-type"] = "application/json";
      const response = await fetch(`${baseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
      const text = await response.text();
      seen?.push(text);
      return { status: response.status, body: text ? JSON.parse(text) : undefined, text };
    },
  };
}
