const TONES: Record<string, string> = {
  ready: "green",
  completed: "green",
  generating: "blue",
  running: "blue",
  queued: "gray",
  new: "gray",
  failed: "red",
  cancelled: "amber",
};

const LABELS: Record<string, string> = { new: "New", ready: "Ready", generating: "Building", running: "Running", queued: "Queued", completed: "Completed", failed: "Failed", cancelled: "Cancelled" };

export function StatusBadge({ status }: { status: string }) {
  return (
    <span className={`badge badge-${TONES[status] ?? "gray"}`} data-status={status}>
      {(status === "generating" || status === "running") && <span className="pulse" />}
      {LABELS[status] ?? status}
    </span>
  );
}
