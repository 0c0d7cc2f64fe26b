import { useQuery } from "@tanstack/react-query";
import { useApi } from "../auth";

const sentence = (text: string) => (/[.!?]$/.test(text) ? text : `${text}.`);

/**
 * Says so when file storage is not healthy or not durable: every warning or failure `GET /vfs/health`
 * reports (MongoDB missing or unreachable, or the offline demo's in-memory stand-in).
 */
export function HealthBanner() {
  const api = useApi();
  const health = useQuery({ queryKey: ["health", "vfs"], queryFn: () => api.vfs.health(), staleTime: 60_000, refetchInterval: 60_000, retry: false });
  const report = health.data;
  if (!report || report.status === "ok") return null;
  const problems = report.checks.filter((c) => c.status !== "ok");
  const down = report.status === "down";
  const notDurable = problems.some((c) => /not durable|stand-in|in memory/i.test(c.detail ?? ""));
  const headline = down ? "File storage is unavailable." : notDurable ? "Files are not stored durably." : "File storage reports a problem.";
  const action = down
    ? "Generated files cannot be saved or listed until it is back: check MONGODB_URI and the server's /healthz."
    : notDurable
      ? "Download a ZIP of anything you want to keep."
      : "Keep a ZIP of important work until it is resolved.";
  return (
    <div className={`banner ${down ? "banner-red" : "banner-amber"}`} role="status" data-testid="health-banner">
      <strong>{headline}</strong> {problems.map((c) => sentence(c.detail ?? `${c.name}: ${c.status}`)).join(" ")} {action}
    </div>
  );
}
