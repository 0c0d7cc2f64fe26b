import { describe, expect, it } from "vitest";
import { branchOf, redact, remoteUrlOf, repositoryName, tokenOf } from "./git-remote";

describe("git remote input", () => {
  it("takes https and http URLs and refuses every other transport, naming the field", () => {
    expect(remoteUrlOf(" https://github.com/o/r.git ")).toBe("https://github.com/o/r.git");
    expect(remoteUrlOf("http://10.0.0.1:8080/r")).toBe("http://10.0.0.1:8080/r");
    for (const url of ["file:///etc/passwd", "ssh://git@h/r.git", "git://h/r.git", "ext::sh -c id", "git@github.com:o/r.git", "/srv/r.git", "-uhttps://h/r", "https://h/r#x", "https://h/a b"]) {
      expect(() => remoteUrlOf(url), url).toThrow(/^url: /);
    }
  });

  it("refuses credentials in a URL without repeating them", () => {
    expect(() => remoteUrlOf("https://me:s3cret@h/r.git")).toThrow(/must not hold credentials/);
    try {
      remoteUrlOf("https://me:s3cret@h/r.git");
    } catch (err) {
      expect(String(err)).not.toContain("s3cret");
    }
    expect(() => remoteUrlOf("https://ghp_abc@h/r.git")).toThrow(/credentials/);
  });

  it("checks branches and tokens, and names a project after its repository", () => {
    expect(branchOf(undefined)).toBe("main");
    expect(branchOf("feature/kiln-1")).toBe("feature/kiln-1");
    for (const bad of ["-x", "a..b", "a/", "/a", "x.lock", "a b", "a@{1}", "a//b", "a/.b"]) expect(() => branchOf(bad), bad).toThrow(/^branch: /);
    expect(tokenOf(undefined)).toBeUndefined();
    expect(tokenOf("ghp_abc")).toBe("ghp_abc");
    expect(() => tokenOf("a\npassword=x")).toThrow(/^token: /);
    expect(repositoryName("https://h/owner/my-app.git")).toBe("my-app");
    expect(repositoryName("https://h/owner/%E4%BD%A0.git")).toBe("你");
    expect(repositoryName("https://h/owner/%E0%A4%A")).toBe("%E0%A4%A");
    expect(repositoryName("https://h/")).toBe("h");
  });

  it("masks a token everywhere in git's words", () => {
    expect(redact("fatal: tok at tok", "tok")).toBe("fatal: *** at ***");
    expect(redact("fatal: x", undefined)).toBe("fatal: x");
  });
});
