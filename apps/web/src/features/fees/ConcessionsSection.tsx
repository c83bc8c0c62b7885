import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { EmptyState } from "../../components/EmptyState";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n, type MessageKey } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { hasAny } from "../identity/permissions";
import { StudentPicker, type PickedStudent } from "../payments/StudentPicker";
import {
  CONCESSION_CATEGORIES,
  concessionsQuery,
  createConcession,
  decideConcession,
  headsQuery,
  revokeConcession,
  type Concession,
  type ConcessionCategory,
  type ConcessionInput,
  type ConcessionStatus,
} from "./api";
import { formatPaise, formatPercentBp, parsePercentBp, parseRupees } from "./money";
import { useCanManageFees, useFeeMutation } from "./useFeeManager";

const STATUSES: readonly ConcessionStatus[] = ["pending", "approved", "rejected", "revoked"];

/** Concessions as rules (sibling, staff child, RTE …), asked for with a reason and approved by someone else. */
export function ConcessionsSection() {
  const { t } = useI18n();
  const me = useCurrentUser();
  const canManage = useCanManageFees();
  const canApprove = hasAny(me.permissions, ["concessions:approve"]);
  const [status, setStatus] = useState<ConcessionStatus | undefined>(undefined);
  const concessions = useQuery(concessionsQuery(status));
  const heads = useQuery(headsQuery);
  const headName = (id: string) => heads.data?.items.find((head) => head.id === id)?.name ?? "…";
  const [adding, setAdding] = useState(false);
  return (
    <>
      <p className="hint">{t("feeSetup.concessionsHint")}</p>
      <div className="toolbar">
        <div className="chip-group" role="radiogroup" aria-label={t("invoices.statusLabel")}>
          <button type="button" role="radio" className="chip" aria-checked={status === undefined} onClick={() => setStatus(undefined)}>
            {t("feeSetup.allConcessions")}
          </button>
          {STATUSES.map((option) => (
            <button key={option} type="button" role="radio" className="chip" aria-checked={status === option} onClick={() => setStatus(option)}>
              {t(`concession.status.${option}`)}
            </button>
          ))}
        </div>
        {canManage && !adding && (
          <button type="button" className="button primary" onClick={() => setAdding(true)}>
            {t("feeSetup.addConcession")}
          </button>
        )}
      </div>
      {adding && <ConcessionForm onClose={() => setAdding(false)} />}
      {concessions.isPending ? (
        <Loading />
      ) : concessions.isError ? (
        <ErrorPanel error={concessions.error} onRetry={() => void concessions.refetch()} />
      ) : concessions.data.items.length === 0 ? (
        <EmptyState title={t("feeSetup.noConcessionsTitle")}>{t("feeSetup.noConcessionsBody")}</EmptyState>
      ) : (
        <ul className="plain-list cards">
          {concessions.data.items.map((concession) => (
            <ConcessionItem
              key={concession.id}
              concession={concession}
              headName={headName}
              canDecide={canApprove && concession.status === "pending" && (concession.requested_by_id !== me.user.id || me.roles.includes("admin"))}
              canRevoke={canManage && (concession.status === "pending" || concession.status === "approved")}
            />
          ))}
        </ul>
      )}
    </>
  );
}

function ConcessionItem({
  concession,
  headName,
  canDecide,
  canRevoke,
}: {
  concession: Concession;
  headName: (id: string) => string;
  canDecide: boolean;
  canRevoke: boolean;
}) {
  const { t, language } = useI18n();
  const decide = useFeeMutation((decision: "approve" | "reject") => decideConcession(concession.id, decision));
  const revoke = useFeeMutation((reason: string) => revokeConcession(concession.id, reason));
  const [revoking, setRevoking] = useState(false);
  const [reason, setReason] = useState("");
  const value =
    concession.kind === "percent"
      ? t("feeSetup.percentOff", { percent: formatPercentBp(concession.percent_bp ?? 0) })
      : t("feeSetup.fixedOff", { amount: formatPaise(concession.amount ?? 0, language) });
  const who = concession.category ? t(`concession.category.${concession.category}` as MessageKey) : t("feeSetup.oneStudent");
  return (
    <li className="concession-item">
      <div className="split-row">
        <strong>{concession.name}</strong>
        <span className={`status status-${concession.status}`}>{t(`concession.status.${concession.status}`)}</span>
      </div>
      <p>
        {value} · {who} ·{" "}
        {concession.head_ids.length === 0 ? t("feeSetup.allHeads") : concession.head_ids.map(headName).join(", ")}
      </p>
      <p className="muted small">
        {concession.reason} · {formatDay(concession.created_at.slice(0, 10), language)}
      </p>
      <div className="toolbar">
        {canDecide && (
          <>
            <button type="button" className="button primary" disabled={decide.isPending} onClick={() => decide.mutate("approve")}>
              {t("feeSetup.approve")}
            </button>
            <button type="button" className="button" disabled={decide.isPending} onClick={() => decide.mutate("reject")}>
              {t("feeSetup.reject")}
            </button>
          </>
        )}
        {canRevoke && !revoking && (
          <button type="button" className="button link" onClick={() => setRevoking(true)}>
            {t("feeSetup.revoke")}
          </button>
        )}
      </div>
      {revoking && (
        <form
          className="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            if (reason.trim()) revoke.mutate(reason.trim());
          }}
        >
          <label htmlFor={`revoke-${concession.id}`}>{t("billing.reason")}</label>
          <input id={`revoke-${concession.id}`} type="text" value={reason} maxLength={1000} onChange={(e) => setReason(e.target.value)} />
          <div className="toolbar">
            <button type="submit" className="button danger-outline" disabled={revoke.isPending || !reason.trim()}>
              {t("feeSetup.revoke")}
            </button>
            <button type="button" className="button" onClick={() => setRevoking(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </form>
      )}
      {decide.isError && <ErrorPanel error={decide.error} />}
      {revoke.isError && <ErrorPanel error={revoke.error} />}
    </li>
  );
}

function ConcessionForm({ onClose }: { onClose: () => void }) {
  const { t } = useI18n();
  const heads = useQuery(headsQuery);
  const [name, setName] = useState("");
  const [kind, setKind] = useState<"percent" | "fixed">("percent");
  const [value, setValue] = useState("");
  const [forWhom, setForWhom] = useState<"category" | "student">("category");
  const [category, setCategory] = useState<ConcessionCategory>("sibling");
  const [student, setStudent] = useState<PickedStudent | null>(null);
  const [headIds, setHeadIds] = useState<string[]>([]);
  const [reason, setReason] = useState("");
  const [invalid, setInvalid] = useState(false);
  const create = useFeeMutation(createConcession, onClose);

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const percent = kind === "percent" ? parsePercentBp(value) : null;
    const amount = kind === "fixed" ? parseRupees(value) : null;
    const ok =
      Boolean(name.trim() && reason.trim()) &&
      (kind === "percent" ? percent !== null : amount !== null && amount > 0) &&
      (forWhom === "category" || student !== null);
    setInvalid(!ok);
    if (!ok) return;
    const body: ConcessionInput = {
      name: name.trim(),
      kind,
      head_ids: headIds,
      reason: reason.trim(),
      ...(kind === "percent" ? { percent_bp: percent! } : { amount: amount! }),
      ...(forWhom === "category" ? { category } : { student_id: student!.id }),
    };
    create.mutate(body);
  };

  return (
    <form className="card concession-form" onSubmit={submit} aria-labelledby="concession-form-title" noValidate>
      <h2 id="concession-form-title">{t("feeSetup.addConcession")}</h2>
      <label htmlFor="concession-name">{t("feeSetup.concessionName")}</label>
      <input id="concession-name" type="text" maxLength={100} value={name} placeholder={t("feeSetup.concessionNameExample")} onChange={(e) => setName(e.target.value)} />
      <fieldset className="fieldset">
        <legend>{t("feeSetup.concessionFor")}</legend>
        <div className="chip-group" role="radiogroup" aria-label={t("feeSetup.concessionFor")}>
          <button type="button" role="radio" className="chip" aria-checked={forWhom === "category"} onClick={() => setForWhom("category")}>
            {t("feeSetup.aCategory")}
          </button>
          <button type="button" role="radio" className="chip" aria-checked={forWhom === "student"} onClick={() => setForWhom("student")}>
            {t("feeSetup.oneStudent")}
          </button>
        </div>
        {forWhom === "category" ? (
          <>
            <label htmlFor="concession-category">{t("feeSetup.category")}</label>
            <select id="concession-category" value={category} onChange={(e) => setCategory(e.target.value as ConcessionCategory)}>
              {CONCESSION_CATEGORIES.map((option) => (
                <option key={option} value={option}>
                  {t(`concession.category.${option}`)}
                </option>
              ))}
            </select>
          </>
        ) : (
          <StudentPicker picked={student} onPick={setStudent} />
        )}
      </fieldset>
      <fieldset className="fieldset">
        <legend>{t("feeSetup.howMuch")}</legend>
        <div className="chip-group" role="radiogroup" aria-label={t("feeSetup.howMuch")}>
          <button type="button" role="radio" className="chip" aria-checked={kind === "percent"} onClick={() => setKind("percent")}>
            {t("feeSetup.percent")}
          </button>
          <button type="button" role="radio" className="chip" aria-checked={kind === "fixed"} onClick={() => setKind("fixed")}>
            {t("feeSetup.fixed")}
          </button>
        </div>
        <label htmlFor="concession-value">{kind === "percent" ? t("feeSetup.percentLabel") : t("feeSetup.fixedLabel")}</label>
        <input id="concession-value" type="text" inputMode="decimal" value={value} onChange={(e) => setValue(e.target.value)} />
      </fieldset>
      <fieldset className="fieldset">
        <legend>{t("feeSetup.onHeads")}</legend>
        <p className="hint">{t("feeSetup.onHeadsHint")}</p>
        {(heads.data?.items ?? []).map((head) => (
          <label key={head.id} className="checkbox">
            <input
              type="checkbox"
              checked={headIds.includes(head.id)}
              onChange={(e) => setHeadIds(e.target.checked ? [...headIds, head.id] : headIds.filter((id) => id !== head.id))}
            />
            {head.name}
          </label>
        ))}
      </fieldset>
      <label htmlFor="concession-reason">{t("billing.reason")}</label>
      <textarea id="concession-reason" rows={2} maxLength={1000} value={reason} onChange={(e) => setReason(e.target.value)} />
      <p className="hint">{t("feeSetup.approvalHint")}</p>
      {invalid && (
        <p className="form-error" role="alert">
          {t("feeSetup.concessionInvalid")}
        </p>
      )}
      {create.isError && <ErrorPanel error={create.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={create.isPending}>
          {t("feeSetup.askConcession")}
        </button>
        <button type="button" className="button" onClick={onClose}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
