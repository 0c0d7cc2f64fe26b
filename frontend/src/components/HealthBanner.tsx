import { useQuery } from "@tanstack/react-query";
import type { ServiceHealth } from "../../../lib/health";
import { useApi } from "../auth";

const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** One service's health, polled once a minute. */
function useHealth(service: "vfs" | "workspaces", fetch: () => Promise<ServiceHealth>): ServiceHealth | undefined {
  return useQuery({ queryKey: ["health", service], queryFn: fetch, staleTime: 60_000, refetchInterval: 60_000, retry: false }).data;
}

/** What a report's warnings and failures say, as sentences. */
function problemsOf(report: ServiceHealth): string {
  return report.checks
    .filter((c) => c.status !== "ok")
    .map((c) => sentence(c.detail ?? `${c.name}: ${c.status}`))
    .join(" ");
}

function Banner({ red, testId, headline, text }: { red: boolean; testId: string; headline: string; text: string }) {
  return (
    <div className={`banner ${red ? "banner-red" : "banner-amber"}`} role="status" data-testid={testId}>
      <strong>{headline}</strong> {text}
    </div>
  );
}

/**
 * Says so when file storage is not healthy or not durable (`GET /vfs/health`: MongoDB missing or
 * unreachable, or the offline demo's in-memory stand-in), and when sandboxes are refused or run
 * unconfined (`GET /workspaces/health`: bubblewrap missing, or KILN_SANDBOX_ISOLATION=none).
 */
export function HealthBanner() {
  const api = useApi();
  const vfs = useHealth("vfs", () => api.vfs.health());
  const workspaces = useHealth("workspaces", () => api.workspace.health());
  const banners = [];
  if (vfs && vfs.status !== "ok") {
    const down = vfs.status === "down";
    const notDurable = /not durable|stand-in|in memory/i.test(problemsOf(vfs));
    const headline = down ? "File storage is unavailable." : notDurable ? "Files are not stored durably." : "File storage reports a problem.";
    const action = down
      ? "Generated files cannot be saved or listed until it is back: check MONGODB_URI and the server's /healthz."
      : notDurable
        ? "Download a ZIP of anything you want to keep."
        : "Keep a ZIP of important work until it is resolved.";
    banners.push(<Banner key="vfs" red={down} testId="health-banner" headline={headline} text={`${problemsOf(vfs)} ${action}`} />);
  }
  if (workspaces && workspaces.status !== "ok") {
    const unconfined = /UNCONFINED/.test(problemsOf(workspaces));
    const headline = unconfined ? "Sandboxes are unconfined." : workspaces.status === "down" ? "Sandboxes are unavailable." : "Sandboxes report a problem.";
    banners.push(<Banner key="sandbox" red={unconfined || workspaces.status === "down"} testId="sandbox-banner" headline={headline} text={problemsOf(workspaces)} />);
  }
  return <>{banners}</>;
}
