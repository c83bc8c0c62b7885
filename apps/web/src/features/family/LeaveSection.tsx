import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { applyLeave, cancelLeave, leaveQuery } from "../attendance/api";
import { LeaveDates } from "../attendance/LeaveDates";
import { useSchoolToday } from "../schools/useSchoolToday";

/** A child's leave applications and their status; a new one in three fields. */
export function LeaveSection({ childId, childName }: { childId: string; childName: string }) {
  const t = useT();
  const queryClient = useQueryClient();
  const applications = useQuery(leaveQuery({ student_id: childId }));
  const refresh = () => void queryClient.invalidateQueries({ queryKey: ["attendance", "leave"] });
  const cancel = useMutation({ mutationFn: cancelLeave, onSuccess: refresh });
  return (
    <section className="card" aria-labelledby="child-leave">
      <h2 id="child-leave">{t("leave.title")}</h2>
      {applications.isPending ? (
        <Loading />
      ) : applications.isError ? (
        <ErrorPanel error={applications.error} onRetry={() => void applications.refetch()} />
      ) : applications.data.items.length === 0 ? (
        <p className="muted">{t("leave.none", { name: childName })}</p>
      ) : (
        <ul className="plain-list">
          {applications.data.items.map((leave) => (
            <li key={leave.id} className="leave-item">
              <LeaveDates leave={leave} />
              <p>{leave.reason}</p>
              <p>
                <span className={`status status-${leave.status}`}>{t(`leave.status.${leave.status}`)}</span>
                {leave.decision_note && <span className="muted"> · {leave.decision_note}</span>}
              </p>
              {leave.status === "pending" && (
                <button type="button" className="button link" disabled={cancel.isPending} onClick={() => cancel.mutate(leave.id)}>
                  {t("leave.cancel")}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {cancel.isError && <ErrorPanel error={cancel.error} />}
      <LeaveForm childId={childId} onApplied={refresh} />
    </section>
  );
}

function LeaveForm({ childId, onApplied }: { childId: string; onApplied: () => void }) {
  const t = useT();
  const today = useSchoolToday();
  const [open, setOpen] = useState(false);
  const [from, setFrom] = useState(today);
  const [to, setTo] = useState(today);
  const [reason, setReason] = useState("");
  const [invalid, setInvalid] = useState(false);
  const apply = useMutation({
    mutationFn: () => applyLeave({ student_id: childId, from_date: from, to_date: to, reason: reason.trim() }),
    onSuccess: () => {
      setOpen(false);
      setReason("");
      onApplied();
    },
  });
  if (!open) {
    return (
      <button type="button" className="button primary" onClick={() => setOpen(true)}>
        {t("leave.apply")}
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ok = Boolean(from && to && from <= to && reason.trim());
    setInvalid(!ok);
    if (ok) apply.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t("leave.apply")}>
      <div className="field-grid">
        <div>
          <label htmlFor="leave-from">{t("leave.from")}</label>
          <input id="leave-from" type="date" value={from} onChange={(e) => setFrom(e.target.value)} />
        </div>
        <div>
          <label htmlFor="leave-to">{t("leave.to")}</label>
          <input id="leave-to" type="date" value={to} min={from} onChange={(e) => setTo(e.target.value)} />
        </div>
      </div>
      <label htmlFor="leave-reason">{t("leave.reason")}</label>
      <textarea id="leave-reason" rows={3} maxLength={500} value={reason} onChange={(e) => setReason(e.target.value)} />
      {invalid && <p className="form-error" role="alert">{t("leave.invalid")}</p>}
      {apply.isError && <ErrorPanel error={apply.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={apply.isPending}>
          {t("leave.send")}
        </button>
        <button type="button" className="button" onClick={() => setOpen(false)}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
