import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { EmptyState } from "../../components/EmptyState";
import { ErrorPanel, Loading } from "../../components/Status";
import { useI18n } from "../../i18n";
import { createLateFeeRule, lateFeeRulesQuery, updateLateFeeRule, type LateFeeKind, type LateFeeRule } from "./api";
import { formatPaise, parseRupees } from "./money";
import { useCanManageFees, useFeeMutation } from "./useFeeManager";

/** "₹50 per day after 7 days' grace, at most ₹500" in words. */
export function describeRule(rule: Pick<LateFeeRule, "kind" | "amount" | "grace_days" | "cap">, t: ReturnType<typeof useI18n>["t"], language: ReturnType<typeof useI18n>["language"]): string {
  const amount = formatPaise(rule.amount, language);
  const base = rule.kind === "flat" ? t("lateFee.flatText", { amount }) : t("lateFee.perDayText", { amount });
  const grace = rule.grace_days > 0 ? ` ${t("lateFee.graceText", { days: rule.grace_days })}` : "";
  const cap = rule.kind === "per_day" && rule.cap ? ` ${t("lateFee.capText", { amount: formatPaise(rule.cap, language) })}` : "";
  return `${base}${grace}${cap}`;
}

/** The late-fee rule the daily job charges by (one active at a time). */
export function LateFeeSection() {
  const { t, language } = useI18n();
  const canManage = useCanManageFees();
  const rules = useQuery(lateFeeRulesQuery);
  const toggle = useFeeMutation(({ id, active }: { id: string; active: boolean }) => updateLateFeeRule(id, { is_active: active }));
  return (
    <section className="card" aria-labelledby="late-title">
      <h2 id="late-title">{t("feeSetup.tab.late")}</h2>
      <p className="hint">{t("lateFee.hint")}</p>
      {rules.isPending ? (
        <Loading />
      ) : rules.isError ? (
        <ErrorPanel error={rules.error} onRetry={() => void rules.refetch()} />
      ) : rules.data.items.length === 0 ? (
        <EmptyState title={t("lateFee.noneTitle")}>{t("lateFee.noneBody")}</EmptyState>
      ) : (
        <ul className="plain-list">
          {rules.data.items.map((rule) => (
            <li key={rule.id} className="split-row">
              <span>
                <strong>{rule.name}</strong>
                {rule.is_active && <span className="badge">{t("lateFee.active")}</span>}
                <br />
                <span className="muted small">{describeRule(rule, t, language)}</span>
              </span>
              {canManage && (
                <button type="button" className="button link" disabled={toggle.isPending} onClick={() => toggle.mutate({ id: rule.id, active: !rule.is_active })}>
                  {rule.is_active ? t("lateFee.turnOff") : t("lateFee.turnOn")}
                  <span className="visually-hidden"> {rule.name}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {toggle.isError && <ErrorPanel error={toggle.error} />}
      {canManage && <LateFeeForm />}
    </section>
  );
}

function LateFeeForm() {
  const { t, language } = useI18n();
  const [name, setName] = useState("");
  const [kind, setKind] = useState<LateFeeKind>("flat");
  const [amount, setAmount] = useState("");
  const [grace, setGrace] = useState("0");
  const [cap, setCap] = useState("");
  const [invalid, setInvalid] = useState(false);
  const create = useFeeMutation(createLateFeeRule, () => {
    setName("");
    setAmount("");
    setCap("");
  });
  const paise = parseRupees(amount);
  const capPaise = cap.trim() ? parseRupees(cap) : null;
  const graceDays = Number(grace);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ok =
      Boolean(name.trim()) &&
      paise !== null &&
      paise > 0 &&
      Number.isInteger(graceDays) &&
      graceDays >= 0 &&
      graceDays <= 365 &&
      (kind === "flat" || !cap.trim() || (capPaise !== null && capPaise >= paise));
    setInvalid(!ok);
    if (ok) create.mutate({ name: name.trim(), kind, amount: paise!, grace_days: graceDays, cap: kind === "per_day" ? capPaise : null, is_active: true });
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-labelledby="late-form-title" noValidate>
      <h3 id="late-form-title">{t("lateFee.add")}</h3>
      <label htmlFor="late-name">{t("lateFee.name")}</label>
      <input id="late-name" type="text" maxLength={100} value={name} onChange={(e) => setName(e.target.value)} />
      <div className="chip-group" role="radiogroup" aria-label={t("lateFee.kind")}>
        <button type="button" role="radio" className="chip" aria-checked={kind === "flat"} onClick={() => setKind("flat")}>
          {t("lateFee.flat")}
        </button>
        <button type="button" role="radio" className="chip" aria-checked={kind === "per_day"} onClick={() => setKind("per_day")}>
          {t("lateFee.perDay")}
        </button>
      </div>
      <div className="field-grid three">
        <div>
          <label htmlFor="late-amount">{kind === "flat" ? t("lateFee.amountFlat") : t("lateFee.amountPerDay")}</label>
          <input id="late-amount" type="text" inputMode="decimal" value={amount} onChange={(e) => setAmount(e.target.value)} />
        </div>
        <div>
          <label htmlFor="late-grace">{t("lateFee.graceDays")}</label>
          <input id="late-grace" type="number" min={0} max={365} inputMode="numeric" value={grace} onChange={(e) => setGrace(e.target.value)} />
        </div>
        {kind === "per_day" && (
          <div>
            <label htmlFor="late-cap">{t("lateFee.cap")}</label>
            <input id="late-cap" type="text" inputMode="decimal" value={cap} onChange={(e) => setCap(e.target.value)} />
          </div>
        )}
      </div>
      {paise !== null && paise > 0 && (
        <p className="hint" aria-live="polite">
          {describeRule({ kind, amount: paise, grace_days: Number.isInteger(graceDays) ? graceDays : 0, cap: capPaise }, t, language)}
        </p>
      )}
      {invalid && (
        <p className="form-error" role="alert">
          {t("lateFee.invalid")}
        </p>
      )}
      {create.isError && <ErrorPanel error={create.error} />}
      <button type="submit" className="button primary" disabled={create.isPending}>
        {t("lateFee.save")}
      </button>
    </form>
  );
}
