import { describe, expect, it } from "vitest";
import { previewAddress, previewSandbox } from "./previewFrame";

describe("the preview frame's sandbox", () => {
  const dashboard = "http://127.0.0.1:4000";

  it("never lets a same-origin preview's scripts keep the dashboard's origin", () => {
    for (const url of ["http://127.0.0.1:4000/s/kiln_share/", "/s/abc/", "not a url at all"]) {
      const tokens = previewSandbox(url, dashboard).split(" ");
      expect(tokens, url).toContain("allow-scripts");
      expect(tokens, url).not.toContain("allow-same-origin");
    }
  });

  it("gives a preview on its own origin its origin (storage, cookies)", () => {
    for (const url of ["http://127.0.0.1:5173/", "https://3000-abc.proxy.daytona.works/?token=x", "http://localhost:4000/"]) {
      expect(previewSandbox(url, dashboard).split(" "), url).toEqual(expect.arrayContaining(["allow-scripts", "allow-same-origin"]));
    }
  });
});

describe("the path bar", () => {
  it("opens a path of the preview, keeping a signed link's query", () => {
    expect(previewAddress("http://127.0.0.1:5173/", "/about")).toBe("http://127.0.0.1:5173/about");
    expect(previewAddress("http://127.0.0.1:5173/", "/docs/")).toBe("http://127.0.0.1:5173/docs/");
    expect(previewAddress("http://127.0.0.1:5173/", "")).toBe("http://127.0.0.1:5173/");
    expect(previewAddress("http://127.0.0.1:5173/", "todos?done=1#top")).toBe("http://127.0.0.1:5173/todos?done=1#top");
    expect(previewAddress("https://3000-x.proxy.example/?tkn=abc", "/settings")).toBe("https://3000-x.proxy.example/settings?tkn=abc");
    expect(previewAddress("http://127.0.0.1:4000/s/kiln_t/", "/cart")).toBe("http://127.0.0.1:4000/s/kiln_t/cart");
  });

  it("stays on the preview's origin whatever is typed", () => {
    for (const typed of ["//evil.example/x", "https://evil.example/", "/\\evil.example", " ../../../etc "]) {
      expect(new URL(previewAddress("http://127.0.0.1:5173/", typed)).origin, typed).toBe("http://127.0.0.1:5173");
    }
    for (const typed of ["../../other", "..\\..\\other", "%2e%2e/%2E%2E/other", "./a/../../b"]) {
      expect(new URL(previewAddress("http://127.0.0.1:4000/s/kiln_t/", typed)).pathname, typed).toMatch(/^\/s\/kiln_t\//);
    }
  });
});
