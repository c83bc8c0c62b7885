import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { ErrorPanel, Loading } from "../../components/Status";
import { useT, type MessageKey } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import { hasAny } from "../identity/permissions";
import { formatPhone } from "../identity/phone";
import { schoolQuery, updateSchool, type School, type SchoolChanges } from "./api";

const FIELDS: readonly { key: keyof School; label: MessageKey }[] = [
  { key: "name", label: "school.name" },
  { key: "code", label: "school.code" },
  { key: "address", label: "school.address" },
  { key: "phone", label: "school.phone" },
  { key: "email", label: "school.email" },
  { key: "timezone", label: "school.timezone" },
];

type Editable = keyof SchoolChanges;
const EDITABLE: readonly Editable[] = ["name", "address", "phone", "email", "timezone"];
const OPTIONAL: ReadonlySet<Editable> = new Set(["address", "phone", "email"]);

export default function SchoolProfilePage() {
  const t = useT();
  const me = useCurrentUser();
  const school = useQuery(schoolQuery);
  const [editing, setEditing] = useState(false);
  const canEdit = hasAny(me.permissions, ["settings:manage"]);
  return (
    <section className="card" aria-labelledby="school-profile">
      <h2 id="school-profile">{t("settings.schoolProfile")}</h2>
      {school.isPending ? (
        <Loading />
      ) : school.isError ? (
        <ErrorPanel error={school.error} onRetry={() => void school.refetch()} />
      ) : editing ? (
        <ProfileForm school={school.data} onDone={() => setEditing(false)} />
      ) : (
        <>
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
          {canEdit && (
            <button type="button" className="button" onClick={() => setEditing(true)}>
              {t("common.edit")}
            </button>
          )}
        </>
      )}
    </section>
  );
}

/** Only the fields that changed are sent; an emptied optional field is cleared. */
export function changedFields(school: School, draft: Record<Editable, string>): SchoolChanges {
  const changes: SchoolChanges = {};
  for (const key of EDITABLE) {
    const value = draft[key].trim();
    const next = value === "" && OPTIONAL.has(key) ? null : value;
    if (next !== (school[key] ?? null)) (changes as Record<string, string | null>)[key] = next;
  }
  return changes;
}

function ProfileForm({ school, onDone }: { school: School; onDone: () => void }) {
  const t = useT();
  const queryClient = useQueryClient();
  const [draft, setDraft] = useState<Record<Editable, string>>(() => ({
    name: school.name,
    address: school.address ?? "",
    phone: school.phone ?? "",
    email: school.email ?? "",
    timezone: school.timezone,
  }));
  const save = useMutation({
    mutationFn: () => updateSchool(changedFields(school, draft)),
    onSuccess: (saved) => {
      queryClient.setQueryData(schoolQuery.queryKey, saved);
      onDone();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t("settings.schoolProfile")}>
      <div className="field-grid">
        {FIELDS.filter(({ key }) => key !== "code").map(({ key, label }) => {
          const field = key as Editable;
          return (
            <div key={field}>
              <label htmlFor={`school-${field}`}>{t(label)}</label>
              <input
                id={`school-${field}`}
                type={field === "email" ? "email" : field === "phone" ? "tel" : "text"}
                required={!OPTIONAL.has(field)}
                value={draft[field]}
                onChange={(e) => setDraft({ ...draft, [field]: e.target.value })}
              />
            </div>
          );
        })}
      </div>
      {save.isError && <ErrorPanel error={save.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={save.isPending}>
          {t("common.save")}
        </button>
        <button type="button" className="button" onClick={onDone}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
