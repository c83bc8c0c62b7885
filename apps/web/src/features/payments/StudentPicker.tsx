import { useQuery } from "@tanstack/react-query";
import { useId, useState } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { useDebounced } from "../../hooks/useDebounced";
import { useT } from "../../i18n";
import { classSection, studentsQuery, type Student } from "../students/api";

export interface PickedStudent {
  id: string;
  name: string;
  admission_number: string;
  class_section: string | null;
}

export function pickedFrom(student: Student): PickedStudent {
  return { id: student.id, name: student.name, admission_number: student.admission_number, class_section: classSection(student) };
}

/** Find a student by name, admission number or a parent's phone, and pick one. */
export function StudentPicker({
  picked,
  onPick,
  label,
}: {
  picked: PickedStudent | null;
  onPick: (student: PickedStudent | null) => void;
  label?: string;
}) {
  const t = useT();
  const id = useId();
  const [search, setSearch] = useState("");
  const settled = useDebounced(search.trim());
  const results = useQuery({ ...studentsQuery({ q: settled, status: "active" }), enabled: settled.length >= 2 && !picked });

  if (picked) {
    return (
      <div className="picked student-picked">
        <div>
          <strong>{picked.name}</strong>
          <span className="muted">
            {" "}
            · {picked.admission_number}
            {picked.class_section ? ` · ${picked.class_section}` : ""}
          </span>
        </div>
        <button type="button" className="button" onClick={() => onPick(null)}>
          {t("payments.changeStudent")}
        </button>
      </div>
    );
  }
  return (
    <div className="student-picker">
      <label htmlFor={`${id}-search`}>{label ?? t("payments.student")}</label>
      <input
        id={`${id}-search`}
        type="search"
        value={search}
        autoComplete="off"
        aria-describedby={`${id}-hint`}
        onChange={(event) => setSearch(event.target.value)}
      />
      <p id={`${id}-hint`} className="hint">
        {t("payments.studentHint")}
      </p>
      {settled.length >= 2 &&
        (results.isPending ? (
          <Loading />
        ) : results.isError ? (
          <ErrorPanel error={results.error} onRetry={() => void results.refetch()} />
        ) : results.data.items.length === 0 ? (
          <p className="muted" role="status">
            {t("payments.noStudentFound")}
          </p>
        ) : (
          <ul className="plain-list pick-list" aria-label={t("payments.studentResults")}>
            {results.data.items.slice(0, 8).map((student) => (
              <li key={student.id}>
                <button type="button" className="button pick-button" onClick={() => onPick(pickedFrom(student))}>
                  <span>{student.name}</span>
                  <span className="muted small">
                    {student.admission_number}
                    {classSection(student) ? ` · ${classSection(student)}` : ""}
                  </span>
                </button>
              </li>
            ))}
          </ul>
        ))}
    </div>
  );
}
