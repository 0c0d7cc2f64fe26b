import { useId } from "react";
import type { TemplateSummary } from "../../../projects/contract";

/**
 * The templates as a grid of cards, one radio group: Tab reaches the chosen card, the arrow keys move
 * the choice (native radios, so screen readers and keyboards get what they expect), focus is outlined.
 */
export function TemplatePicker({ templates, value, onChange, disabled }: { templates: TemplateSummary[]; value: string; onChange: (name: string) => void; disabled?: boolean }) {
  const id = useId();
  return (
    <fieldset className="templates" role="radiogroup" aria-labelledby={`${id}-legend`} disabled={disabled} data-testid="template-picker">
      <legend id={`${id}-legend`} className="templates-legend">
        Start from
      </legend>
      <div className="template-grid">
        {templates.map((t) => {
          const checked = t.name === value;
          return (
            <label key={t.name} className={`template-card${checked ? " template-selected" : ""}`} data-testid="template-card" data-template={t.name}>
              <input
                type="radio"
                className="visually-hidden"
                name={`${id}-template`}
                value={t.name}
                checked={checked}
                onChange={() => onChange(t.name)}
                aria-labelledby={`${id}-${t.name}-title`}
                aria-describedby={`${id}-${t.name}-desc`}
              />
              <span className="template-check" aria-hidden="true" />
              <span className="template-title" id={`${id}-${t.name}-title`}>
                {t.title}
              </span>
              <span className="template-desc" id={`${id}-${t.name}-desc`}>
                {t.description}
              </span>
              <span className="template-stack">
                {t.stack.length > 0 ? (
                  t.stack.map((s) => (
                    <span key={s} className="tag">
                      {s}
                    </span>
                  ))
                ) : (
                  <span className="tag tag-muted">Agent's choice</span>
                )}
              </span>
            </label>
          );
        })}
      </div>
    </fieldset>
  );
}

/** Placeholder cards while the templates load. */
export function TemplatePickerSkeleton() {
  return (
    <div className="template-grid" aria-hidden="true">
      {[0, 1, 2, 3].map((i) => (
        <div key={i} className="template-card card-skeleton" />
      ))}
    </div>
  );
}

/** A template's example prompts as chips; picking one hands its text to `onPick`. */
export function ExamplePrompts({ template, onPick }: { template: TemplateSummary; onPick: (prompt: string) => void }) {
  if (template.examples.length === 0) return null;
  return (
    <div className="examples" role="group" aria-label={`Example prompts for ${template.title}`} data-testid="example-prompts" data-template={template.name}>
      <span className="examples-label">Try</span>
      {template.examples.map((example) => (
        <button key={example} type="button" className="chip" onClick={() => onPick(example)} data-testid="example-chip">
          {example}
        </button>
      ))}
    </div>
  );
}
