import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { EmptyState } from "../../components/EmptyState";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { createInstalment, deleteInstalment, FREQUENCIES, instalmentsQuery, planInstalments, type Frequency } from "./api";
import { useCanManageFees, useFeeMutation } from "./useFeeManager";

/** The year's instalments and their due dates; a standard set in one step. */
export function InstalmentsSection() {
  const { t, language } = useI18n();
  const canManage = useCanManageFees();
  const instalments = useQuery(instalmentsQuery);
  const remove = useFeeMutation(deleteInstalment);
  return (
    <section className="card" aria-labelledby="instalments-title">
      <h2 id="instalments-title">{t("feeSetup.tab.instalments")}</h2>
      <p className="hint">{t("feeSetup.instalmentsHint")}</p>
      {instalments.isPending ? (
        <Loading />
      ) : instalments.isError ? (
        <ErrorPanel error={instalments.error} onRetry={() => void instalments.refetch()} />
      ) : instalments.data.items.length === 0 ? (
        <EmptyState title={t("feeSetup.noInstalmentsTitle")}>{t("feeSetup.noInstalmentsBody")}</EmptyState>
      ) : (
        <ul className="plain-list">
          {instalments.data.items.map((instalment) => (
            <li key={instalment.id} className="split-row">
              <span>
                <strong>{instalment.name}</strong>
                <span className="muted small"> · {t("generate.due", { date: formatDay(instalment.due_on, language) })}</span>
              </span>
              {canManage && (
                <button type="button" className="button link" disabled={remove.isPending} onClick={() => remove.mutate(instalment.id)}>
                  {t("feeSetup.remove")}
                  <span className="visually-hidden"> {instalment.name}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {remove.isError && <ErrorPanel error={remove.error} />}
      {canManage && (
        <>
          <PlanForm />
          <OneInstalmentForm />
        </>
      )}
    </section>
  );
}

function PlanForm() {
  const { t } = useI18n();
  const [frequency, setFrequency] = useState<Frequency>("quarterly");
  const [dueDay, setDueDay] = useState("10");
  const plan = useFeeMutation(planInstalments);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    plan.mutate({ frequency, due_day: Math.min(28, Math.max(1, Number(dueDay) || 10)) });
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby="plan-title">
      <h3 id="plan-title">{t("feeSetup.planTitle")}</h3>
      <div className="field-grid two">
        <div>
          <label htmlFor="plan-frequency">{t("feeSetup.frequency")}</label>
          <select id="plan-frequency" value={frequency} onChange={(e) => setFrequency(e.target.value as Frequency)}>
            {FREQUENCIES.map((option) => (
              <option key={option} value={option}>
                {t(`feeSetup.frequency.${option}`)}
              </option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="plan-day">{t("feeSetup.dueDay")}</label>
          <input id="plan-day" type="number" min={1} max={28} inputMode="numeric" value={dueDay} onChange={(e) => setDueDay(e.target.value)} />
        </div>
      </div>
      {plan.isError && <ErrorPanel error={plan.error} />}
      {plan.isSuccess && (
        <p className="notice success" role="status">
          {t("feeSetup.planDone")}
        </p>
      )}
      <button type="submit" className="button primary" disabled={plan.isPending}>
        {t("feeSetup.planCreate")}
      </button>
    </form>
  );
}

function OneInstalmentForm() {
  const { t } = useI18n();
  const [name, setName] = useState("");
  const [dueOn, setDueOn] = useState("");
  const [invalid, setInvalid] = useState(false);
  const create = useFeeMutation(createInstalment, () => {
    setName("");
    setDueOn("");
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ok = Boolean(name.trim() && dueOn);
    setInvalid(!ok);
    if (ok) create.mutate({ name: name.trim(), due_on: dueOn });
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby="one-instalment-title" noValidate>
      <h3 id="one-instalment-title">{t("feeSetup.oneInstalment")}</h3>
      <div className="field-grid two">
        <div>
          <label htmlFor="instalment-name">{t("feeSetup.instalmentName")}</label>
          <input id="instalment-name" type="text" maxLength={64} value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="instalment-due">{t("invoices.dueOn")}</label>
          <input id="instalment-due" type="date" value={dueOn} onChange={(e) => setDueOn(e.target.value)} />
        </div>
      </div>
      {invalid && (
        <p className="form-error" role="alert">
          {t("feeSetup.instalmentInvalid")}
        </p>
      )}
      {create.isError && <ErrorPanel error={create.error} />}
      <button type="submit" className="button" disabled={create.isPending}>
        {t("feeSetup.addInstalment")}
      </button>
    </form>
  );
}

