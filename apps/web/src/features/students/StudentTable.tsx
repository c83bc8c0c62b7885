import { Link } from "react-router";

import { useT } from "../../i18n";
import { formatPhone } from "../identity/phone";
import { classSection, type Student } from "./api";

/** One page of students: a table on a wide screen, stacked cards on a phone (same markup). */
export function StudentTable({ students }: { students: readonly Student[] }) {
  const t = useT();
  return (
    <table className="records student-table">
      <caption className="visually-hidden">{t("students.title")}</caption>
      <thead>
        <tr>
          <th scope="col">{t("students.name")}</th>
          <th scope="col">{t("students.admissionNumber")}</th>
          <th scope="col">{t("students.classSection")}</th>
          <th scope="col">{t("students.roll")}</th>
          <th scope="col">{t("students.guardian")}</th>
          <th scope="col">{t("students.status")}</th>
        </tr>
      </thead>
      <tbody>
        {students.map((student) => (
          <tr key={student.id} data-testid="student-row">
            <th scope="row">
              <Link to={`/students/${student.id}`}>{student.name}</Link>
            </th>
            <td data-label={t("students.admissionNumber")}>{student.admission_number}</td>
            <td data-label={t("students.classSection")}>{classSection(student) ?? "—"}</td>
            <td data-label={t("students.roll")}>{student.roll_number ?? "—"}</td>
            <td data-label={t("students.guardian")}>
              {student.primary_guardian ? (
                <>
                  {student.primary_guardian.name}
                  <span className="muted"> · {formatPhone(student.primary_guardian.phone)}</span>
                </>
              ) : (
                "—"
              )}
            </td>
            <td data-label={t("students.status")}>
              <span className={`status status-${student.status}`}>{t(`students.status.${student.status}`)}</span>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
