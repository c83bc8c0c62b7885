import { useQuery } from "@tanstack/react-query";

import { useT } from "../../i18n";
import { sectionsQuery } from "../academics/api";
import { useCurrentUser } from "../identity/currentUser";
import { sectionLabel } from "./sectionLabel";

/** A section to report on: a teacher's own sections, or every section for school-wide staff. */
export function SectionPicker({ value, onChange }: { value: string; onChange: (sectionId: string) => void }) {
  const t = useT();
  const me = useCurrentUser();
  const own = me.sections.length > 0;
  const all = useQuery({ ...sectionsQuery, enabled: !own });
  const options = own
    ? me.sections.map((s) => ({ id: s.id, label: sectionLabel(s, t) }))
    : (all.data ?? []).map((s) => ({ id: s.id, label: s.label }));
  return (
    <div>
      <label htmlFor="report-section">{t("reports.section")}</label>
      <select id="report-section" value={value} onChange={(event) => onChange(event.target.value)}>
        <option value="">{t("reports.chooseSection")}</option>
        {options.map((option) => (
          <option key={option.id} value={option.id}>
            {option.label}
          </option>
        ))}
      </select>
    </div>
  );
}
