import { useEffect, useRef, type ReactNode } from "react";

/**
 * A modal dialog (the browser's own `<dialog>`: focus stays inside, Esc closes it, the page behind is
 * inert). `onClose` runs on Esc and on the close button; the dialog is open while it is rendered.
 */
export function Dialog({ title, onClose, children, testId }: { title: string; onClose: () => void; children: ReactNode; testId?: string }) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (dialog && !dialog.open) dialog.showModal();
    return () => dialog?.close();
  }, []);
  return (
    <dialog
      ref={ref}
      className="dialog"
      aria-labelledby={`${testId ?? "dialog"}-title`}
      data-testid={testId}
      onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}
    >
      <div className="dialog-head">
        <h2 id={`${testId ?? "dialog"}-title`}>{title}</h2>
        <button className="icon-btn" onClick={onClose} aria-label="Close">
          ×
        </button>
      </div>
      {children}
    </dialog>
  );
}

/** A destructive dialog's buttons: Cancel, and the action (`busy` while it runs). */
export function DangerActions({ onCancel, onConfirm, busy, label, testId }: { onCancel: () => void; onConfirm: () => void; busy: string | null; label: string; testId: string }) {
  return (
    <div className="dialog-foot">
      <button className="btn" onClick={onCancel}>
        Cancel
      </button>
      <button className="btn btn-danger" onClick={onConfirm} disabled={busy !== null} data-testid={testId}>
        {busy ?? label}
      </button>
    </div>
  );
}
