import { useState, type FormEvent, type KeyboardEvent } from "react";

/** The prompt box: Enter sends (Shift+Enter for a new line). */
export function PromptBox({ placeholder, disabled, disabledReason, busy, onSubmit, label }: { placeholder: string; disabled?: boolean; disabledReason?: string; busy?: boolean; onSubmit: (prompt: string) => Promise<unknown>; label: string }) {
  const [text, setText] = useState("");
  const submit = async (event?: FormEvent) => {
    event?.preventDefault();
    const prompt = text.trim();
    if (!prompt || disabled || busy) return;
    try {
      await onSubmit(prompt);
      setText("");
    } catch {
      // The caller shows the error; the text stays so nothing typed is lost.
    }
  };
  const onKey = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing) {
      event.preventDefault();
      void submit();
    }
  };
  return (
    <form className="prompt" onSubmit={submit}>
      <textarea
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
        placeholder={placeholder}
        rows={3}
        maxLength={20_000}
        aria-label="Prompt"
        data-testid="prompt-input"
      />
      <div className="prompt-foot">
        <span className="muted small">{disabled && disabledReason ? disabledReason : "Enter to send · Shift+Enter for a new line"}</span>
        <button type="submit" className="btn btn-primary" disabled={!text.trim() || disabled || busy} data-testid="prompt-submit">
          {busy ? "Starting…" : label}
        </button>
      </div>
    </form>
  );
}
