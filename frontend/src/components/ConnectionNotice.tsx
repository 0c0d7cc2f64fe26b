import { useEffect, useState } from "react";
import type { StreamStatus } from "../api/client";

/** Whether the browser says it is online, kept current. */
function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    window.addEventListener("online", update);
    window.addEventListener("offline", update);
    return () => {
      window.removeEventListener("online", update);
      window.removeEventListener("offline", update);
    };
  }, []);
  return online;
}

/**
 * The page's one connection notice: offline (the browser says so) or the live stream reconnecting,
 * with when it tries again. Nothing is missed: the stream resumes from the last event it had.
 */
export function ConnectionNotice({ stream }: { stream: StreamStatus | null }) {
  const online = useOnline();
  const reconnecting = stream?.state === "reconnecting" ? stream : null;
  if (online && !reconnecting) return null;
  const retry = reconnecting ? `Reconnecting in ${Math.max(1, Math.ceil(reconnecting.inMs / 1000))} s (attempt ${reconnecting.attempt})` : "Reconnecting as soon as the network is back";
  return (
    <div className="connection-notice" role="status" data-testid="connection-notice" data-state={online ? "reconnecting" : "offline"}>
      <strong>{online ? "Connection lost" : "You are offline"}</strong>
      <span>
        {retry}
        {reconnecting && online ? ` — ${reconnecting.reason}` : ""}. Nothing will be missed: the job keeps running on the server.
      </span>
    </div>
  );
}
