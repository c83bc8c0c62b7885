import { useId, useState, type FormEvent, type ReactNode } from "react";

import { ErrorPanel } from "../../components/Status";
import { useT } from "../../i18n";

/** A confirmation that needs a reason (cancel, write off, refund): it is kept in the audit log. */
export function ReasonForm({
  title,
  explanation,
  confirmLabel,
  pending,
  error,
  onConfirm,
  onClose,
  children,
}: {
  title: string;
  explanation: string;
  confirmLabel: string;
  pending: boolean;
  error: unknown;
  onConfirm: (reason: string) => void;
  onClose: () => void;
  children?: ReactNode;
}) {
  const t = useT();
  const id = useId();
  const [reason, setReason] = useState("");
  const [invalid, setInvalid] = useState(false);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const text = reason.trim();
    setInvalid(!text);
    if (text) onConfirm(text);
  };
  return (
    <form className="card reason-form" aria-labelledby={`${id}-title`} onSubmit={submit}>
      <h2 id={`${id}-title`}>{title}</h2>
      <p>{explanation}</p>
      {children}
      <label htmlFor={`${id}-reason`}>{t("billing.reason")}</label>
      <textarea
        id={`${id}-reason`}
        rows={3}
        maxLength={1000}
        value={reason}
        aria-invalid={invalid || undefined}
        aria-describedby={invalid ? `${id}-invalid` : undefined}
        onChange={(event) => setReason(event.target.value)}
        autoFocus
      />
      {invalid && (
        <p id={`${id}-invalid`} className="form-error" role="alert">
          {t("billing.reasonRequired")}
        </p>
      )}
      {error ? <ErrorPanel error={error} /> : null}
      <div className="toolbar">
        <button type="submit" className="button primary danger" disabled={pending}>
          {pending ? t("common.saving") : confirmLabel}
        </button>
        <button type="button" className="button" onClick={onClose}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
