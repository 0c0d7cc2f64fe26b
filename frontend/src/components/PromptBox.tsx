import { useId, useImperativeHandle, useRef, useState, type FormEvent, type KeyboardEvent, type Ref } from "react";

/** What a page can do to its prompt box: put text in it (a "Try to fix" follow-up) and focus it. */
export interface PromptBoxHandle {
  fill(text: string): void;
  focus(): void;
}

/** Enter, or Ctrl/Cmd+Enter, sends; Shift+Enter is a new line; an IME composition never sends. */
export function sendsOnKey(event: KeyboardEvent<HTMLTextAreaElement>): boolean {
  return event.key === "Enter" && !event.shiftKey && !event.nativeEvent.isComposing;
}

/**
 * The prompt box with a visible label. A disabled send button says why next to it (`disabledReason`,
 * or "type a prompt first"); the text typed stays when sending fails.
 */
export function PromptBox({
  label,
  heading,
  placeholder,
  disabled,
  disabledReason,
  busy,
  onSubmit,
  ref,
}: {
  label: string;
  heading: string;
  placeholder: string;
  disabled?: boolean;
  disabledReason?: string;
  busy?: boolean;
  onSubmit: (prompt: string) => Promise<unknown>;
  ref?: Ref<PromptBoxHandle>;
}) {
  const id = useId();
  const [text, setText] = useState("");
  const field = useRef<HTMLTextAreaElement>(null);
  useImperativeHandle(ref, () => ({
    fill(value: string) {
      setText(value);
      requestAnimationFrame(() => {
        field.current?.focus();
        field.current?.setSelectionRange(value.length, value.length);
      });
    },
    focus: () => field.current?.focus(),
  }));
  const empty = !text.trim();
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
    if (sendsOnKey(event)) {
      event.preventDefault();
      void submit();
    }
  };
  const why = disabled && disabledReason ? disabledReason : busy ? "Starting the generation…" : empty ? "Type what you want first." : null;
  return (
    <form className="prompt" onSubmit={submit} data-testid="prompt-box">
      <label className="prompt-label" htmlFor={`${id}-text`}>
        {heading}
      </label>
      <textarea
        id={`${id}-text`}
        ref={field}
        value={text}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={onKey}
        placeholder={placeholder}
        rows={3}
        maxLength={20_000}
        aria-describedby={`${id}-hint`}
        data-testid="prompt-input"
      />
      <div className="prompt-foot">
        <span className="small prompt-hint" id={`${id}-hint`} data-testid="prompt-hint">
          {disabled && disabledReason ? disabledReason : "Enter to send · Shift+Enter for a new line"}
        </span>
        <button type="submit" className="btn btn-primary" disabled={empty || disabled || busy} title={why ?? undefined} aria-describedby={`${id}-hint`} data-testid="prompt-submit">
          {busy ? "Starting…" : label}
        </button>
      </div>
    </form>
  );
}
