import type { IncomingMessage, ServerResponse } from "node:http";
import { api } from "encore.dev/api";

interface HelloRequest {
  name: string;
}

interface HelloResponse {
  message: string;
}

/** A typed endpoint that needs auth. */
export const hello = api(
  { expose: true, auth: true, method: "POST", path: "/greeter/hello" },
  async (req: HelloRequest): Promise<HelloResponse> => ({ message: `hello ${req.name}` }),
);

/** A raw endpoint: Node's request and response, no schema. */
export const feed = api.raw(
  { expose: true, auth: true, method: "GET", path: "/greeter/feed" },
  async (_req: IncomingMessage, res: ServerResponse) => {
    res.end("ok");
  },
);
