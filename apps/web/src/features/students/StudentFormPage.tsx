import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { sectionsQuery } from "../academics/api";
import { toE164 } from "../identity/phone";
import {
  createStudent,
  setEnrolment,
  studentQuery,
  updateStudent,
  type Category,
  type Gender,
  type GuardianInput,
  type StudentDetail,
} from "./api";
import { EMPTY_GUARDIAN, GuardianFields, guardianProblem } from "./GuardianForm";

interface Draft {
  admission_number: string;
  name: string;
  date_of_birth: string;
  gender: Gender;
  category: Category;
  admitted_on: string;
  section_id: string;
  roll_number: string;
}

const CATEGORIES: readonly Category[] = ["general", "obc", "sc", "st", "ews"];

function draftOf(student?: StudentDetail): Draft {
  return {
    admission_number: student?.admission_number ?? "",
    name: student?.name ?? "",
    date_of_birth: student?.date_of_birth ?? "",
    gender: (student?.gender as Gender | undefined) ?? "female",
    category: (student?.category as Category | undefined) ?? "general",
    admitted_on: student?.admitted_on ?? "",
    section_id: student?.section_id ?? "",
    roll_number: student?.roll_number ? String(student.roll_number) : "",
  };
}

/** Which required fields are missing, by field name. */
export function missingFields(draft: Draft): (keyof Draft)[] {
  const required: (keyof Draft)[] = ["admission_number", "name", "date_of_birth"];
  return required.filter((field) => !draft[field].trim());
}

export default function StudentFormPage() {
  const { studentId } = useParams();
  const student = useQuery({ ...studentQuery(studentId ?? ""), enabled: Boolean(studentId) });
  if (studentId && student.isPending) return <Loading />;
  if (studentId && student.isError) return <ErrorPanel error={student.error} onRetry={() => void student.refetch()} />;
  return <StudentForm student={studentId ? student.data : undefined} />;
}

function StudentForm({ student }: { student?: StudentDetail }) {
  const t = useT();
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const sections = useQuery(sectionsQuery);
  const [draft, setDraft] = useState<Draft>(() => draftOf(student));
  const [guardian, setGuardian] = useState<GuardianInput>(EMPTY_GUARDIAN);
  const [missing, setMissing] = useState<(keyof Draft)[]>([]);
  const [guardianInvalid, setGuardianInvalid] = useState(false);
  const set = (changes: Partial<Draft>) => setDraft((current) => ({ ...current, ...changes }));

  const save = useMutation({
    mutationFn: async (): Promise<StudentDetail> => {
      const roll = draft.roll_number ? Number(draft.roll_number) : null;
      const fields = {
        admission_number: draft.admission_number.trim(),
        name: draft.name.trim(),
        date_of_birth: draft.date_of_birth,
        gender: draft.gender,
        category: draft.category,
        admitted_on: draft.admitted_on || null,
      };
      if (!student) {
        const withGuardian = guardianProblem(guardian) === null;
        return createStudent({
          ...fields,
          section_id: draft.section_id || null,
          roll_number: draft.section_id ? roll : null,
          guardians: withGuardian ? [{ ...guardian, phone: toE164(guardian.phone)!, is_primary: true }] : [],
        });
      }
      let saved = await updateStudent(student.id, fields);
      const placeChanged = draft.section_id !== (student.section_id ?? "") || roll !== student.roll_number;
      if (draft.section_id && placeChanged) {
        saved = await setEnrolment(student.id, { section_id: draft.section_id, roll_number: roll });
      }
      return saved;
    },
    onSuccess: (saved) => {
      queryClient.setQueryData(studentQuery(saved.id).queryKey, saved);
      void queryClient.invalidateQueries({ queryKey: ["students", "list"] });
      navigate(`/students/${saved.id}`);
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    const gaps = missingFields(draft);
    const badGuardian = !student && guardianProblem(guardian) === "phone";
    setMissing(gaps);
    setGuardianInvalid(badGuardian);
    if (gaps.length === 0 && !badGuardian) save.mutate();
  };
  const invalid = (field: keyof Draft) => missing.includes(field) || undefined;

  return (
    <>
      <PageHeader title={student ? t("students.editTitle", { name: student.name }) : t("students.addTitle")}>
        <p className="page-subtitle">
          <Link to={student ? `/students/${student.id}` : "/students"}>{t("common.back")}</Link>
        </p>
      </PageHeader>
      <form className="card form" onSubmit={submit} noValidate>
        <div className="field-grid">
          <div>
            <label htmlFor="admission-number">{t("students.admissionNumber")}</label>
            <input
              id="admission-number"
              type="text"
              value={draft.admission_number}
              aria-invalid={invalid("admission_number")}
              onChange={(e) => set({ admission_number: e.target.value })}
            />
          </div>
          <div>
            <label htmlFor="student-name">{t("students.name")}</label>
            <input id="student-name" type="text" value={draft.name} aria-invalid={invalid("name")} onChange={(e) => set({ name: e.target.value })} />
          </div>
          <div>
            <label htmlFor="date-of-birth">{t("students.dateOfBirth")}</label>
            <input
              id="date-of-birth"
              type="date"
              value={draft.date_of_birth}
              aria-invalid={invalid("date_of_birth")}
              onChange={(e) => set({ date_of_birth: e.target.value })}
            />
          </div>
          <div>
            <label htmlFor="gender">{t("students.gender")}</label>
            <select id="gender" value={draft.gender} onChange={(e) => set({ gender: e.target.value as Gender })}>
              <option value="female">{t("students.gender.female")}</option>
              <option value="male">{t("students.gender.male")}</option>
              <option value="other">{t("students.gender.other")}</option>
            </select>
          </div>
          <div>
            <label htmlFor="category">{t("students.category")}</label>
            <select id="category" value={draft.category} onChange={(e) => set({ category: e.target.value as Category })}>
              {CATEGORIES.map((category) => (
                <option key={category} value={category}>
                  {category === "general" ? t("students.categoryGeneral") : category.toUpperCase()}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="admitted-on">{t("students.admittedOn")}</label>
            <input id="admitted-on" type="date" value={draft.admitted_on} onChange={(e) => set({ admitted_on: e.target.value })} />
          </div>
          <div>
            <label htmlFor="section">{t("students.section")}</label>
            <select id="section" value={draft.section_id} onChange={(e) => set({ section_id: e.target.value })}>
              <option value="">{t("students.noSection")}</option>
              {(sections.data ?? []).map((section) => (
                <option key={section.id} value={section.id}>
                  {section.label}
                </option>
              ))}
            </select>
          </div>
          <div>
            <label htmlFor="roll-number">{t("students.roll")}</label>
            <input
              id="roll-number"
              type="text"
              inputMode="numeric"
              value={draft.roll_number}
              disabled={!draft.section_id}
              onChange={(e) => set({ roll_number: e.target.value.replace(/\D/g, "").slice(0, 3) })}
            />
          </div>
        </div>
        {!student && (
          <fieldset className="fieldset">
            <legend>{t("students.firstGuardian")}</legend>
            <p className="hint">{t("students.firstGuardianHint")}</p>
            <GuardianFields prefix="guardian-1" value={guardian} onChange={setGuardian} phoneInvalid={guardianInvalid} />
          </fieldset>
        )}
        {missing.length > 0 && (
          <p className="form-error" role="alert">
            {t("students.fillRequired")}
          </p>
        )}
        {guardianInvalid && (
          <p className="form-error" role="alert">
            {t("guardian.incomplete")}
          </p>
        )}
        {save.isError && <ErrorPanel error={save.error} />}
        <div className="toolbar">
          <button type="submit" className="button primary" disabled={save.isPending}>
            {save.isPending ? t("common.saving") : t("common.save")}
          </button>
        </div>
      </form>
    </>
  );
}
