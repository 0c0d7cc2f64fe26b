import { useEffect, useState } from "react";

function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  return s < 3600 ? `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}` : `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/** The time from `from` to `to` as m:ss, ticking every second while `to` is null. */
export function Elapsed({ from, to }: { from: string | null; to: string | null }) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (to !== null || from === null) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [from, to]);
  if (from === null) return null;
  const ms = (to === null ? now : Date.parse(to)) - Date.parse(from);
  return (
    <span className="elapsed" data-testid="job-elapsed" title={to === null ? "Time since the job started" : "How long the job took"} aria-label={`${to === null ? "running for" : "took"} ${clock(ms)}`}>
      {clock(ms)}
    </span>
  );
}
