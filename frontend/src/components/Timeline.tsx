import type { ReactNode } from "react";
import type { TimelineItem } from "../lib/jobState";
import { ToolCard } from "./ToolCard";

type Renderers = { [K in TimelineItem["kind"]]: (item: Extract<TimelineItem, { kind: K }>) => ReactNode };

/** How each kind of timeline item is drawn: a new kind (an approval card, …) adds one entry here. */
export const TIMELINE_RENDERERS: Renderers = {
  text: (item) => (
    <div key={item.key} className="agent-text" data-testid="agent-text">
      {item.text}
    </div>
  ),
  tool: (item) => <ToolCard key={item.key} call={item.call} />,
  note: (item) => (
    <div key={item.key} className={`timeline-note note-${item.tone}`}>
      {item.text}
    </div>
  ),
};

function render<K extends TimelineItem["kind"]>(item: Extract<TimelineItem, { kind: K }>): ReactNode {
  return (TIMELINE_RENDERERS[item.kind] as (item: Extract<TimelineItem, { kind: K }>) => ReactNode)(item);
}

/** A job's narration, tool calls and notes, in the order they happened. */
export function Timeline({ items, waiting }: { items: TimelineItem[]; waiting: boolean }) {
  return (
    <div className="timeline" data-testid="timeline">
      {items.map((item) => render(item))}
      {items.length === 0 && waiting && <div className="timeline-empty">Waiting for the agent…</div>}
    </div>
  );
}
