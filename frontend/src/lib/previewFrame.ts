/** The widths the preview can be shown at; `null` fills the pane. */
export const DEVICES = [
  { id: "desktop", label: "Desktop", width: null },
  { id: "tablet", label: "Tablet", width: 768 },
  { id: "mobile", label: "Mobile", width: 390 },
] as const;

/** One of {@link DEVICES}. */
export type DeviceId = (typeof DEVICES)[number]["id"];

const SANDBOX = "allow-scripts allow-forms allow-popups allow-modals allow-downloads";

/**
 * The preview frame's `sandbox` tokens. A preview on the dashboard's own origin (a share link, a proxy)
 * must not get `allow-same-origin` next to `allow-scripts`: its scripts could then remove the sandbox and
 * read the owner's token. A preview on its own origin keeps its origin, so its storage and cookies work.
 * An address that does not parse is treated as same-origin (fail closed).
 */
export function previewSandbox(previewUrl: string, dashboardOrigin: string): string {
  let sameOrigin = true;
  try {
    sameOrigin = new URL(previewUrl, dashboardOrigin).origin === new URL(dashboardOrigin).origin;
  } catch {
    sameOrigin = true;
  }
  return sameOrigin ? SANDBOX : `${SANDBOX} allow-same-origin`;
}

/**
 * The address the frame opens for what was typed in the path bar: always on the preview's origin, under
 * its base path (a share link's `/s/<token>/`: no `..` climbs out of it), with the link's own query (a signed link's) unless the
 * path brings one. `//elsewhere.example` stays a path of the preview.
 */
export function previewAddress(previewUrl: string, typed: string): string {
  const base = new URL(previewUrl);
  const [, path = "", query, hash] = /^([^?#]*)(\?[^#]*)?(#.*)?$/.exec(typed.trim()) ?? [];
  const target = new URL(base.toString());
  // No dot segments (plain, encoded, or with backslashes, which URLs read as slashes): they would climb out of the base path.
  const segments = path.replace(/\\/g, "/").split("/").filter((s) => s !== "" && !/^(\.|%2e){1,2}$/i.test(s));
  const trailing = segments.length > 0 && /[/\\]$/.test(path) ? "/" : "";
  target.pathname = `${base.pathname.replace(/\/+$/, "")}/${segments.join("/")}${trailing}`;
  target.search = query ?? base.search;
  target.hash = hash ?? "";
  return target.toString();
}
