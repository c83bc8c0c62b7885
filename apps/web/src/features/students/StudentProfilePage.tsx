import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { Link, useParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDay } from "../../format";
import { useI18n } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { formatPhone } from "../identity/phone";
import { classSection, deactivateStudent, reactivateStudent, studentQuery, unlinkGuardian, type StudentDetail } from "./api";
import { GuardianForm } from "./GuardianForm";

export default function StudentProfilePage() {
  const { studentId = "" } = useParams();
  const { t } = useI18n();
  const student = useQuery(studentQuery(studentId));
  if (student.isPending) return <Loading />;
  if (student.isError) {
    return (
      <>
        <PageHeader title={t("students.profile")} />
        <ErrorPanel error={student.error} onRetry={() => void student.refetch()} />
      </>
    );
  }
  return <Profile student={student.data} />;
}

function Profile({ student }: { student: StudentDetail }) {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const canWrite = me.permissions.includes("students:write");
  const queryClient = useQueryClient();
  const saved = (detail: StudentDetail) => {
    queryClient.setQueryData(studentQuery(student.id).queryKey, detail);
    void queryClient.invalidateQueries({ queryKey: ["students", "list"] });
  };
  const status = useMutation({
    mutationFn: () => (student.status === "active" ? deactivateStudent(student.id) : reactivateStudent(student.id)),
    onSuccess: saved,
  });
  const unlink = useMutation({
    mutationFn: (guardianId: string) => unlinkGuardian(student.id, guardianId),
    onSuccess: saved,
  });
  const place = classSection(student);
  const facts: [string, string][] = [
    [t("students.admissionNumber"), student.admission_number],
    [t("students.classSection"), place ? `${place}${student.roll_number ? ` · ${t("students.rollShort", { roll: student.roll_number })}` : ""}` : t("students.notEnrolled")],
    [t("students.dateOfBirth"), formatDay(student.date_of_birth, language)],
    [t("students.gender"), t(`students.gender.${student.gender as "male" | "female" | "other"}`)],
    [t("students.category"), student.category === "general" ? t("students.categoryGeneral") : student.category.toUpperCase()],
    [t("students.admittedOn"), student.admitted_on ? formatDay(student.admitted_on, language) : t("common.notSet")],
    [t("students.status"), t(`students.status.${student.status}`)],
  ];
  return (
    <>
      <PageHeader title={student.name}>
        <p className="page-subtitle">
          <Link to="/students">{t("students.backToList")}</Link>
        </p>
      </PageHeader>
      {canWrite && (
        <div className="toolbar">
          <Link className="button primary" to={`/students/${student.id}/edit`}>
            {t("students.edit")}
          </Link>
          <button type="button" className="button" disabled={status.isPending} onClick={() => status.mutate()}>
            {student.status === "active" ? t("students.markLeft") : t("students.reactivate")}
          </button>
        </div>
      )}
      {status.isError && <ErrorPanel error={status.error} />}
      <div className="card-grid">
        <section className="card" aria-labelledby="student-details">
          <h2 id="student-details">{t("students.details")}</h2>
          <dl className="details">
            {facts.map(([label, value]) => (
              <div key={label}>
                <dt>{label}</dt>
                <dd>{value}</dd>
              </div>
            ))}
          </dl>
        </section>
        <section className="card" aria-labelledby="student-guardians">
          <h2 id="student-guardians">{t("students.guardians")}</h2>
          {student.guardians.length === 0 ? (
            <p className="muted">{t("students.noGuardians")}</p>
          ) : (
            <ul className="plain-list">
              {student.guardians.map((guardian) => (
                <li key={guardian.id} className="guardian">
                  <div>
                    <strong>{guardian.name}</strong>{" "}
                    <span className="muted">
                      {t(`students.relation.${guardian.relation as "father" | "mother" | "guardian"}`)}
                      {guardian.is_primary ? ` · ${t("students.primary")}` : ""}
                    </span>
                  </div>
                  <div>
                    <a href={`tel:${guardian.phone}`}>{formatPhone(guardian.phone)}</a>
                    {guardian.whatsapp_opt_in && <span className="badge">{t("students.whatsapp")}</span>}
                  </div>
                  {canWrite && (
                    <button
                      type="button"
                      className="button link"
                      disabled={unlink.isPending}
                      onClick={() => unlink.mutate(guardian.id)}
                    >
                      {t("students.unlinkGuardian", { name: guardian.name })}
                    </button>
                  )}
                </li>
              ))}
            </ul>
          )}
          {unlink.isError && <ErrorPanel error={unlink.error} />}
          {canWrite && <GuardianForm studentId={student.id} onSaved={saved} />}
        </section>
        <section className="card" aria-labelledby="student-history">
          <h2 id="student-history">{t("students.history")}</h2>
          {student.enrolments.length === 0 ? (
            <p className="muted">{t("students.noHistory")}</p>
          ) : (
            <ul className="plain-list">
              {student.enrolments.map((enrolment) => (
                <li key={enrolment.academic_year_id}>
                  <strong>{enrolment.academic_year}</strong> · {enrolment.section_label}
                  {enrolment.roll_number ? ` · ${t("students.rollShort", { roll: enrolment.roll_number })}` : ""}
                  {enrolment.outcome ? <span className="muted"> · {enrolment.outcome}</span> : null}
                </li>
              ))}
            </ul>
          )}
        </section>
      </div>
    </>
  );
}
