import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { codesQuery, putCode, type AttendanceCode } from "../attendance/api";

const BLANK: AttendanceCode = {
  code: "",
  label: "",
  counts_as_present: true,
  alerts_guardians: false,
  sort_order: 10,
  is_active: true,
};

/** The school's attendance codes: what each means, whether it counts as present, whether it alerts parents. */
export default function AttendanceCodesPage() {
  const t = useT();
  const codes = useQuery(codesQuery);
  const [editing, setEditing] = useState<AttendanceCode | null>(null);
  return (
    <section className="card" aria-labelledby="codes-title">
      <h2 id="codes-title">{t("settings.attendanceCodes")}</h2>
      <p className="hint">{t("codes.intro")}</p>
      {codes.isPending ? (
        <Loading />
      ) : codes.isError ? (
        <ErrorPanel error={codes.error} onRetry={() => void codes.refetch()} />
      ) : (
        <div className="table-scroll">
          <table className="records">
            <thead>
              <tr>
                <th scope="col">{t("codes.code")}</th>
                <th scope="col">{t("codes.label")}</th>
                <th scope="col">{t("codes.countsPresent")}</th>
                <th scope="col">{t("codes.alerts")}</th>
                <th scope="col">{t("codes.active")}</th>
                <th scope="col">
                  <span className="visually-hidden">{t("common.edit")}</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {codes.data.map((code) => (
                <tr key={code.code}>
                  <th scope="row">{code.code}</th>
                  <td data-label={t("codes.label")}>{code.label}</td>
                  <td data-label={t("codes.countsPresent")}>{code.counts_as_present ? t("common.yes") : t("common.no")}</td>
                  <td data-label={t("codes.alerts")}>{code.alerts_guardians ? t("common.yes") : t("common.no")}</td>
                  <td data-label={t("codes.active")}>{code.is_active ? t("common.yes") : t("common.no")}</td>
                  <td>
                    <button type="button" className="button link" onClick={() => setEditing(code)}>
                      {t("codes.edit", { code: code.code })}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing ? (
        <CodeForm key={editing.code || "new"} initial={editing} onDone={() => setEditing(null)} />
      ) : (
        <button type="button" className="button" onClick={() => setEditing(BLANK)}>
          {t("codes.add")}
        </button>
      )}
    </section>
  );
}

function CodeForm({ initial, onDone }: { initial: AttendanceCode; onDone: () => void }) {
  const t = useT();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState(initial);
  const [invalid, setInvalid] = useState(false);
  const save = useMutation({
    mutationFn: () => {
      const { code, ...body } = draft;
      return putCode(code, body);
    },
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: codesQuery.queryKey });
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ok = /^[A-Z][A-Z0-9]{0,7}$/.test(draft.code) && draft.label.trim() !== "";
    setInvalid(!ok);
    if (ok) save.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={initial.code ? t("codes.edit", { code: initial.code }) : t("codes.add")}>
      <div className="field-grid">
        <div>
          <label htmlFor="code-code">{t("codes.code")}</label>
          <input
            id="code-code"
            type="text"
            value={draft.code}
            disabled={Boolean(initial.code)}
            aria-invalid={invalid || undefined}
            onChange={(e) => setDraft({ ...draft, code: e.target.value.toUpperCase() })}
          />
        </div>
        <div>
          <label htmlFor="code-label">{t("codes.label")}</label>
          <input id="code-label" type="text" value={draft.label} onChange={(e) => setDraft({ ...draft, label: e.target.value })} />
        </div>
      </div>
      <label className="checkbox">
        <input type="checkbox" checked={draft.counts_as_present} onChange={(e) => setDraft({ ...draft, counts_as_present: e.target.checked })} />
        {t("codes.countsPresent")}
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={draft.alerts_guardians} onChange={(e) => setDraft({ ...draft, alerts_guardians: e.target.checked })} />
        {t("codes.alerts")}
      </label>
      <label className="checkbox">
        <input type="checkbox" checked={draft.is_active} onChange={(e) => setDraft({ ...draft, is_active: e.target.checked })} />
        {t("codes.active")}
      </label>
      {invalid && <p className="form-error" role="alert">{t("codes.invalid")}</p>}
      {save.isError && <ErrorPanel error={save.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {t("common.save")}
        </button>
        <button type="button" className="button" onClick={onDone}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
