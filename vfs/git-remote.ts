import { invalidArgument } from "../lib/errors";
import { requireText } from "../lib/validate";

/**
 * A git remote URL as a request gives it: `https://` or `http://` only (no `file://`, `ssh://`, `git://`,
 * scp-style `user@host:path` or `ext::`), with a host, without credentials, fragment or control
 * characters. The error never repeats a URL that holds credentials.
 */
export function remoteUrlOf(value: unknown): string {
  const text = requireText("url", value, { min: 1, max: 2000 });
  if (/[\s\x00-\x1f\x7f]/.test(text)) throw invalidArgument("url", "must not contain spaces or control characters");
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalidArgument("url", "is not a URL; give the repository's https:// address, such as https://github.com/owner/repo.git");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw invalidArgument("url", `only https:// and http:// remotes are supported, not ${url.protocol}//`);
  }
  if (url.username !== "" || url.password !== "") {
    throw invalidArgument("url", "must not hold credentials; give a token in the token field instead");
  }
  if (url.hostname === "") throw invalidArgument("url", "has no host");
  if (url.hash !== "") throw invalidArgument("url", "must not have a #fragment");
  return url.href;
}

/** A push's or a private import's token: printable ASCII without spaces (it goes to git's line-based credential protocol), or undefined. */
export function tokenOf(value: unknown): string | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  if (typeof value !== "string" || value.length > 1000 || !/^[\x21-\x7e]+$/.test(value)) {
    throw invalidArgument("token", "must be at most 1000 printable characters without spaces");
  }
  return value;
}

/** A branch name git accepts (`git check-ref-format --branch`'s rules, narrowed to a safe alphabet); `main` by default. */
export function branchOf(value: unknown): string {
  if (value === undefined || value === null) return "main";
  const branch = requireText("branch", value, { min: 1, max: 200 });
  const bad = !/^[A-Za-z0-9._/-]+$/.test(branch) || /^[-/.]|\/$|\.lock$|\.$|\.\.|\/\/|\/\./.test(branch);
  if (bad) throw invalidArgument("branch", `${JSON.stringify(branch)} is not a branch name git accepts (letters, digits, . _ - /; no "..", no leading "-")`);
  return branch;
}

/** The repository's name from its URL (`https://host/owner/app.git` → `app`), for a project's default name. */
export function repositoryName(url: string): string {
  const last = new URL(url).pathname.split("/").filter(Boolean).pop() ?? "";
  let decoded = last;
  try {
    decoded = decodeURIComponent(last);
  } catch {
    // A malformed %-escape: the name as written.
  }
  const name = decoded.replace(/\.git$/, "").trim();
  return (name || new URL(url).hostname).slice(0, 100);
}

/** `text` with every occurrence of `secret` replaced, so git's words can be shown without the token. */
export function redact(text: string, secret: string | undefined): string {
  return secret ? text.split(secret).join("***") : text;
}

/**
 * Defines `g`, git hardened for an untrusted remote and an untrusted repository: no system or global
 * config, no prompts, hooks disabled, only http(s) transports (no file://, ext::, submodule fetches),
 * no redirects to elsewhere, symlinks checked out as plain files, every received object checked.
 */
const HARDENED_GIT = [
  "export GIT_TERMINAL_PROMPT=0 GIT_CONFIG_NOSYSTEM=1 GIT_CONFIG_GLOBAL=/dev/null GIT_ASKPASS=/bin/false SSH_ASKPASS=/bin/false",
  "g() { git -c core.hooksPath=/dev/null -c protocol.allow=never -c protocol.https.allow=always -c protocol.http.allow=always" +
    " -c http.followRedirects=false -c core.symlinks=false -c transfer.fsckObjects=true -c submodule.recurse=false" +
    " -c core.fsmonitor=false -c credential.helper= \"$@\"; }",
].join("\n");

/**
 * Defines `auth`: `g` with a credential helper that reads the token from `file` (relative to
 * /workspace), which is removed when the script ends, however it ends. The token is
 * in no argument, environment variable (Daytona writes a long command's variables into its text),
 * remote URL or git config: `-c` options are not saved by a clone.
 */
const withTokenFile = (file: string) => `export KILN_GIT_TOKEN_FILE="$PWD/${file}"
trap 'rm -f -- "$KILN_GIT_TOKEN_FILE"' EXIT
auth() { g -c 'credential.helper=!f() { test "$1" = get && test -s "$KILN_GIT_TOKEN_FILE" && printf "username=x-access-token\\npassword=%s\\n" "$(cat "$KILN_GIT_TOKEN_FILE")"; }; f' "$@"; }`;

/** Where an import's sandbox holds a private repository's token during the clone (removed by the clone script). */
export const IMPORT_TOKEN_FILE = ".kiln-git-token";

/**
 * Clones `$KILN_GIT_URL`'s default branch (one commit, no tags, no checkout) into `/workspace/.git`, every
 * file the clone writes capped at `$KILN_GIT_MAX_KB` (the pack is one file, so this bounds the download),
 * then prints the tree's file count and total bytes ("<files> <bytes>").
 */
export const CLONE_SCRIPT = `${HARDENED_GIT}
set -u
${withTokenFile(IMPORT_TOKEN_FILE)}
rm -rf .git
ulimit -f "$KILN_GIT_MAX_KB"
auth clone -q --bare --depth 1 --no-tags --single-branch -- "$KILN_GIT_URL" .git || exit $?
g --git-dir=.git rev-parse -q --verify HEAD^{commit} >/dev/null || { echo "the repository has no commits" >&2; exit 3; }
g --git-dir=.git ls-tree -r -l HEAD | awk '{ n++; if ($4 != "-") s += $4 } END { printf "%d %.0f\\n", n, s }'`;

/**
 * Checks the cloned tree out into /workspace (symlinks as plain files, which are then removed), deletes
 * the git directory, and prints the paths of symlinks and submodules, NUL-separated: what was not imported.
 */
export const CHECKOUT_SCRIPT = `${HARDENED_GIT}
set -eu
g --git-dir=.git --work-tree=. -c core.bare=false checkout -q -f HEAD -- .
g --git-dir=.git ls-tree -r -z HEAD | while IFS= read -r -d '' entry; do
  mode=\${entry%% *}; path=\${entry#*$'\\t'}
  case "$mode" in
    120000) rm -f -- "$path"; printf '%s\\0' "$path" ;;
    160000) rmdir -- "$path" 2>/dev/null || true; printf '%s\\0' "$path" ;;
  esac
done
rm -rf .git`;

/** Where a push's sandbox holds its token while the push runs (inside the git directory: never committed). */
export const TOKEN_FILE = ".git/kiln-push-token";

/**
 * Commits /workspace as one commit (author and committer Kiln, message `$KILN_GIT_MESSAGE`) on top of
 * `$KILN_GIT_BRANCH` of `$KILN_GIT_URL` when the branch exists (a fast-forward, never a force push), and
 * pushes it; prints the commit's id. The token reaches git only through the credential helper, from
 * `.git/kiln-push-token` (never committed).
 */
export const PUSH_SCRIPT = `${HARDENED_GIT}
set -eu
export GIT_AUTHOR_NAME=Kiln GIT_AUTHOR_EMAIL=kiln@users.noreply.kiln GIT_COMMITTER_NAME=Kiln GIT_COMMITTER_EMAIL=kiln@users.noreply.kiln
${withTokenFile(TOKEN_FILE)}
g init -q .
g add -A -f .
tree=$(g write-tree)
rc=0; auth ls-remote -q --exit-code --heads -- "$KILN_GIT_URL" "refs/heads/$KILN_GIT_BRANCH" >/dev/null || rc=$?
parent=""
case $rc in
  0) auth fetch -q --depth 1 --no-tags -- "$KILN_GIT_URL" "refs/heads/$KILN_GIT_BRANCH"; parent="-p $(g rev-parse FETCH_HEAD)" ;;
  2) ;;
  *) exit $rc ;;
esac
commit=$(printf '%s\\n' "$KILN_GIT_MESSAGE" | g commit-tree "$tree" $parent)
auth push -q --no-verify -- "$KILN_GIT_URL" "$commit:refs/heads/$KILN_GIT_BRANCH"
echo "$commit"`;
