import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { client, type TestClient } from "./support/http";
import { startTestKiln, type TestKiln } from "./support/kiln";

let kiln: TestKiln;
let api: TestClient;

beforeAll(async () => {
  kiln = await startTestKiln();
  api = client(kiln.url, (await kiln.createUser("db")).token);
  await api.call("POST", "/projects", { name: "Before the drop" });
});
afterAll(async () => {
  await kiln?.close();
});

describe(`Postgres connections dropping (${process.env.DATABASE_URL ? "PostgreSQL server" : "embedded PGlite"})`, () => {
  it("fails requests cleanly with 503 unavailable while the connections are gone, then recovers", async () => {
    const answers: number[] = [];
    for (let round = 0; round < 3; round++) {
      await kiln.kiln.databases.dropConnections();
      for (let i = 0; i < 8; i++) {
        const response = await api.call("GET", "/projects");
        answers.push(response.status);
        if (response.status !== 200) {
          expect(response.status).toBe(503);
          expect(response.body).toEqual({ code: "unavailable", message: "the database is unavailable right now; try again in a moment", details: null });
        }
      }
      // Within a few requests the pool has reconnected: the rest of the round succeeds.
      expect(answers.slice(-4)).toEqual([200, 200, 200, 200]);
    }
    const listed = await api.call("GET", "/projects");
    expect(listed.body.projects.map((p: { name: string }) => p.name)).toEqual(["Before the drop"]);
    expect((await api.call("POST", "/projects", { name: "After the drop" })).status).toBe(200);
    expect((await fetch(`${kiln.url}/projects/health`)).status).toBe(200);
  });
});
