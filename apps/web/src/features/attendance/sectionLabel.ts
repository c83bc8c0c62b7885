import type { Translate } from "../../i18n";
import type { TeachingSection } from "../identity/api";

/** "Class 6 – A", or the section's own name when it has no class. */
export function sectionLabel(section: TeachingSection, t: Translate): string {
  return section.class_name ? t("attendance.section", { class: section.class_name, section: section.name }) : section.name;
}
