import { useQuery } from "@tanstack/react-query";

import { ErrorPanel, Loading } from "../../components/Status";
import { useT, type MessageKey } from "../../i18n";
import { formatPhone } from "../identity/phone";
import { schoolQuery, type School } from "./api";

const FIELDS: readonly { key: keyof School; label: MessageKey }[] = [
  { key: "name", label: "school.name" },
  { key: "code", label: "school.code" },
  { key: "address", label: "school.address" },
  { key: "phone", label: "school.phone" },
  { key: "email", label: "school.email" },
  { key: "timezone", label: "school.timezone" },
];

export default function SchoolProfilePage() {
  const t = useT();
  const school = useQuery(schoolQuery);
  return (
    <section className="card" aria-labelledby="school-profile">
      <h2 id="school-profile">{t("settings.schoolProfile")}</h2>
      {school.isPending ? (
        <Loading />
      ) : school.isError ? (
        <ErrorPanel error={school.error} onRetry={() => void school.refetch()} />
      ) : (
        <dl className="details">
          {FIELDS.map(({ key, label }) => {
            const value = school.data[key];
            return (
              <div key={key}>
                <dt>{t(label)}</dt>
                <dd className={value ? undefined : "muted"}>
                  {value ? (key === "phone" ? formatPhone(value) : value) : t("common.notSet")}
                </dd>
              </div>
            );
          })}
        </dl>
      )}
    </section>
  );
}
