import { useId, useRef, type KeyboardEvent, type ReactNode } from "react";

/** One tab of a tab list: its id (and test id `tab-<id>`), its label, and what its panel shows. */
export interface TabSpec<T extends string> {
  id: T;
  label: ReactNode;
  render: () => ReactNode;
}

/**
 * A WAI-ARIA tab list: only the selected tab is in the Tab order, the arrow keys (and Home/End) move
 * the selection and the focus, the panel is labelled by its tab.
 */
export function Tabs<T extends string>({ tabs, value, onChange, label, className }: { tabs: readonly TabSpec<T>[]; value: T; onChange: (id: T) => void; label: string; className?: string }) {
  const base = useId();
  const buttons = useRef(new Map<T, HTMLButtonElement>());
  const current = tabs.find((t) => t.id === value) ?? tabs[0]!;
  const onKey = (event: KeyboardEvent) => {
    const index = tabs.findIndex((t) => t.id === current.id);
    const to = event.key === "ArrowRight" ? index + 1 : event.key === "ArrowLeft" ? index - 1 : event.key === "Home" ? 0 : event.key === "End" ? tabs.length - 1 : null;
    if (to === null) return;
    event.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length]!;
    onChange(next.id);
    buttons.current.get(next.id)?.focus();
  };
  return (
    <div className={className}>
      <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKey}>
        {tabs.map((t) => {
          const selected = t.id === current.id;
          return (
            <button
              key={t.id}
              ref={(el) => {
                if (el) buttons.current.set(t.id, el);
                else buttons.current.delete(t.id);
              }}
              role="tab"
              id={`${base}-tab-${t.id}`}
              aria-selected={selected}
              aria-controls={`${base}-panel`}
              tabIndex={selected ? 0 : -1}
              className={`tab${selected ? " tab-active" : ""}`}
              onClick={() => onChange(t.id)}
              data-testid={`tab-${t.id}`}
            >
              {t.label}
            </button>
          );
        })}
      </div>
      <div className="tab-body" role="tabpanel" id={`${base}-panel`} aria-labelledby={`${base}-tab-${current.id}`}>
        {current.render()}
      </div>
    </div>
  );
}
