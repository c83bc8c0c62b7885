import { useMutation } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ErrorPanel } from "../../components/Status";
import { useT } from "../../i18n";
import { toE164 } from "../identity/phone";
import { linkGuardian, type GuardianInput, type Relation, type StudentDetail } from "./api";

export const EMPTY_GUARDIAN: GuardianInput = {
  name: "",
  relation: "father",
  phone: "",
  whatsapp_opt_in: true,
  preferred_language: "en",
};

/** The fields of one guardian; `prefix` keeps ids unique when several are on a page. */
export function GuardianFields({
  prefix,
  value,
  onChange,
  phoneInvalid,
}: {
  prefix: string;
  value: GuardianInput;
  onChange: (value: GuardianInput) => void;
  phoneInvalid?: boolean;
}) {
  const t = useT();
  return (
    <div className="field-grid">
      <div>
        <label htmlFor={`${prefix}-name`}>{t("guardian.name")}</label>
        <input id={`${prefix}-name`} type="text" value={value.name} onChange={(e) => onChange({ ...value, name: e.target.value })} />
      </div>
      <div>
        <label htmlFor={`${prefix}-relation`}>{t("guardian.relation")}</label>
        <select
          id={`${prefix}-relation`}
          value={value.relation}
          onChange={(e) => onChange({ ...value, relation: e.target.value as Relation })}
        >
          <option value="father">{t("students.relation.father")}</option>
          <option value="mother">{t("students.relation.mother")}</option>
          <option value="guardian">{t("students.relation.guardian")}</option>
        </select>
      </div>
      <div>
        <label htmlFor={`${prefix}-phone`}>{t("guardian.phone")}</label>
        <input
          id={`${prefix}-phone`}
          type="tel"
          inputMode="tel"
          autoComplete="off"
          value={value.phone}
          aria-invalid={phoneInvalid || undefined}
          onChange={(e) => onChange({ ...value, phone: e.target.value })}
        />
      </div>
      <div>
        <label htmlFor={`${prefix}-language`}>{t("guardian.language")}</label>
        <select
          id={`${prefix}-language`}
          value={value.preferred_language}
          onChange={(e) => onChange({ ...value, preferred_language: e.target.value as "en" | "hi" })}
        >
          <option value="en">English</option>
          <option value="hi">हिन्दी</option>
        </select>
      </div>
      <label className="checkbox">
        <input
          type="checkbox"
          checked={value.whatsapp_opt_in}
          onChange={(e) => onChange({ ...value, whatsapp_opt_in: e.target.checked })}
        />
        {t("guardian.whatsapp")}
      </label>
    </div>
  );
}

/** Whether a guardian's entry is ready to send; an untouched one is simply left out. */
export function guardianProblem(guardian: GuardianInput): "empty" | "phone" | null {
  if (!guardian.name.trim() && !guardian.phone.trim()) return "empty";
  return guardian.name.trim() && toE164(guardian.phone) ? null : "phone";
}

/** Add a guardian to a student (a phone already on file links that guardian: siblings share parents). */
export function GuardianForm({ studentId, onSaved }: { studentId: string; onSaved: (detail: StudentDetail) => void }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [guardian, setGuardian] = useState<GuardianInput>(EMPTY_GUARDIAN);
  const [invalid, setInvalid] = useState(false);
  const save = useMutation({
    mutationFn: () => linkGuardian(studentId, { ...guardian, phone: toE164(guardian.phone) ?? guardian.phone }),
    onSuccess: (detail) => {
      onSaved(detail);
      setGuardian(EMPTY_GUARDIAN);
      setOpen(false);
    },
  });
  if (!open) {
    return (
      <button type="button" className="button" onClick={() => setOpen(true)}>
        {t("guardian.add")}
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const problem = guardianProblem(guardian);
    setInvalid(problem !== null);
    if (problem === null) save.mutate();
  };
  return (
    <form onSubmit={submit} className="inline-form" aria-label={t("guardian.add")}>
      <GuardianFields prefix="new-guardian" value={guardian} onChange={setGuardian} phoneInvalid={invalid} />
      {invalid && <p className="form-error" role="alert">{t("guardian.incomplete")}</p>}
      {save.isError && <ErrorPanel error={save.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {t("common.save")}
        </button>
        <button type="button" className="button" onClick={() => setOpen(false)}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
