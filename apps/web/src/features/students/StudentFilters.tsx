import { useQuery } from "@tanstack/react-query";

import { useT } from "../../i18n";
import { classesQuery, sectionsQuery } from "../academics/api";
import type { StudentFilters as Filters, StudentStatus } from "./api";

const STATUSES: readonly StudentStatus[] = ["active", "left", "alumni"];

/** Search box and class / section / status choices; every change starts again at the first page. */
export function StudentFilters({
  filters,
  search,
  onSearch,
  onChange,
}: {
  filters: Filters;
  search: string;
  onSearch: (text: string) => void;
  onChange: (changes: Partial<Filters>) => void;
}) {
  const t = useT();
  const classes = useQuery(classesQuery);
  const sections = useQuery(sectionsQuery);
  const classSections = (sections.data ?? []).filter((s) => !filters.class_id || s.class_id === filters.class_id);
  return (
    <form className="filters" role="search" onSubmit={(event) => event.preventDefault()}>
      <div className="filter-search">
        <label htmlFor="student-search">{t("students.search")}</label>
        <input
          id="student-search"
          type="search"
          value={search}
          placeholder={t("students.searchHint")}
          onChange={(event) => onSearch(event.target.value)}
        />
      </div>
      <div>
        <label htmlFor="student-class">{t("students.class")}</label>
        <select
          id="student-class"
          value={filters.class_id ?? ""}
          onChange={(event) => onChange({ class_id: event.target.value || undefined, section_id: undefined })}
        >
          <option value="">{t("students.allClasses")}</option>
          {(classes.data ?? []).map((c) => (
            <option key={c.id} value={c.id}>
              {c.name}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="student-section">{t("students.section")}</label>
        <select
          id="student-section"
          value={filters.section_id ?? ""}
          onChange={(event) => onChange({ section_id: event.target.value || undefined })}
        >
          <option value="">{t("students.allSections")}</option>
          {classSections.map((s) => (
            <option key={s.id} value={s.id}>
              {s.label}
            </option>
          ))}
        </select>
      </div>
      <div>
        <label htmlFor="student-status">{t("students.status")}</label>
        <select
          id="student-status"
          value={filters.status ?? ""}
          onChange={(event) => onChange({ status: (event.target.value || undefined) as StudentStatus | undefined })}
        >
          <option value="">{t("students.anyStatus")}</option>
          {STATUSES.map((status) => (
            <option key={status} value={status}>
              {t(`students.status.${status}`)}
            </option>
          ))}
        </select>
      </div>
    </form>
  );
}
