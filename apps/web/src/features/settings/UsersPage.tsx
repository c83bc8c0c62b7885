import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { Pager } from "../../components/Pager";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDateTime } from "../../format";
import { useDebounced } from "../../hooks/useDebounced";
import { useI18n } from "../../i18n";
import { formatPhone, toE164 } from "../identity/phone";
import { assignRoles, inviteUser, rolesQuery, setUserActive, usersQuery, type Role, type User } from "../users/api";

/** Who can sign in, with which roles; invite by phone (they sign in with a WhatsApp code). */
export default function UsersPage() {
  const { t } = useI18n();
  const [search, setSearch] = useState("");
  const [offset, setOffset] = useState(0);
  const q = useDebounced(search.trim());
  const users = useQuery(usersQuery({ q: q || undefined, offset }));
  const roles = useQuery(rolesQuery);
  return (
    <>
      <section className="card" aria-labelledby="users-title">
        <h2 id="users-title">{t("settings.users")}</h2>
        <label htmlFor="user-search">{t("users.search")}</label>
        <input
          id="user-search"
          type="search"
          value={search}
          onChange={(event) => {
            setSearch(event.target.value);
            setOffset(0);
          }}
        />
        {users.isPending ? (
          <Loading />
        ) : users.isError ? (
          <ErrorPanel error={users.error} onRetry={() => void users.refetch()} />
        ) : (
          <>
            <ul className="plain-list">
              {users.data.items.map((user) => (
                <UserRow key={user.id} user={user} roles={roles.data ?? []} />
              ))}
            </ul>
            <Pager offset={users.data.offset} limit={users.data.limit} total={users.data.total} onChange={setOffset} />
          </>
        )}
        <InviteForm roles={roles.data ?? []} />
      </section>
      <section className="card" aria-labelledby="roles-title">
        <h2 id="roles-title">{t("users.roles")}</h2>
        {roles.isError ? (
          <ErrorPanel error={roles.error} />
        ) : (
          <dl className="details">
            {(roles.data ?? []).map((role) => (
              <div key={role.id}>
                <dt>
                  {role.name} · {t("users.permissionCount", { count: role.permissions.length })}
                </dt>
                <dd>{role.description}</dd>
              </div>
            ))}
          </dl>
        )}
      </section>
    </>
  );
}

function RoleChoices({ roles, chosen, onChange, idPrefix }: { roles: Role[]; chosen: string[]; onChange: (next: string[]) => void; idPrefix: string }) {
  return (
    <div className="chip-group">
      {roles.map((role) => (
        <label key={role.id} className="checkbox" htmlFor={`${idPrefix}-${role.name}`}>
          <input
            id={`${idPrefix}-${role.name}`}
            type="checkbox"
            checked={chosen.includes(role.name)}
            onChange={(event) => onChange(event.target.checked ? [...chosen, role.name] : chosen.filter((r) => r !== role.name))}
          />
          {role.name}
        </label>
      ))}
    </div>
  );
}

function UserRow({ user, roles }: { user: User; roles: Role[] }) {
  const { t, language } = useI18n();
  const queryClient = useQueryClient();
  const [editing, setEditing] = useState(false);
  const [chosen, setChosen] = useState(user.roles);
  const done = () => void queryClient.invalidateQueries({ queryKey: ["users", "list"] });
  const saveRoles = useMutation({
    mutationFn: () => assignRoles(user.id, chosen),
    onSuccess: () => {
      setEditing(false);
      done();
    },
  });
  const active = useMutation({ mutationFn: () => setUserActive(user.id, !user.is_active), onSuccess: done });
  return (
    <li className="user-row">
      <div>
        <strong>{user.name}</strong> <span className="muted">{formatPhone(user.phone)}</span>
        {!user.is_active && <span className="badge">{t("users.inactive")}</span>}
      </div>
      <div className="muted small">
        {user.roles.join(", ") || t("users.noRoles")} ·{" "}
        {user.last_login_at ? t("users.lastLogin", { when: formatDateTime(user.last_login_at, language) }) : t("users.neverLoggedIn")}
      </div>
      {editing ? (
        <div className="inline-form">
          <RoleChoices roles={roles} chosen={chosen} onChange={setChosen} idPrefix={`roles-${user.id}`} />
          {saveRoles.isError && <ErrorPanel error={saveRoles.error} />}
          <div className="toolbar">
            <button type="button" className="button primary" disabled={saveRoles.isPending} onClick={() => saveRoles.mutate()}>
              {t("common.save")}
            </button>
            <button type="button" className="button" onClick={() => setEditing(false)}>
              {t("common.cancel")}
            </button>
          </div>
        </div>
      ) : (
        <div className="toolbar">
          <button type="button" className="button link" onClick={() => setEditing(true)}>
            {t("users.changeRoles", { name: user.name })}
          </button>
          <button type="button" className="button link" disabled={active.isPending} onClick={() => active.mutate()}>
            {user.is_active ? t("users.deactivate", { name: user.name }) : t("users.activate", { name: user.name })}
          </button>
        </div>
      )}
      {active.isError && <ErrorPanel error={active.error} />}
    </li>
  );
}

function InviteForm({ roles }: { roles: Role[] }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [open, setOpen] = useState(false);
  const [name, setName] = useState("");
  const [phone, setPhone] = useState("");
  const [chosen, setChosen] = useState<string[]>(["teacher"]);
  const [invalid, setInvalid] = useState(false);
  const invite = useMutation({
    mutationFn: () => inviteUser({ name: name.trim(), phone: toE164(phone)!, roles: chosen, preferred_language: "en" }),
    onSuccess: () => {
      void queryClient.invalidateQueries({ queryKey: ["users", "list"] });
      setOpen(false);
      setName("");
      setPhone("");
    },
  });
  if (!open) {
    return (
      <button type="button" className="button primary" onClick={() => setOpen(true)}>
        {t("users.invite")}
      </button>
    );
  }
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ok = name.trim() !== "" && toE164(phone) !== null && chosen.length > 0;
    setInvalid(!ok);
    if (ok) invite.mutate();
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t("users.invite")}>
      <div className="field-grid">
        <div>
          <label htmlFor="invite-name">{t("users.name")}</label>
          <input id="invite-name" type="text" value={name} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="invite-phone">{t("users.phone")}</label>
          <input id="invite-phone" type="tel" inputMode="tel" value={phone} aria-invalid={invalid || undefined} onChange={(e) => setPhone(e.target.value)} />
        </div>
      </div>
      <p className="label-like">{t("users.roles")}</p>
      <RoleChoices roles={roles} chosen={chosen} onChange={setChosen} idPrefix="invite-role" />
      {invalid && <p className="form-error" role="alert">{t("users.inviteInvalid")}</p>}
      {invite.isError && <ErrorPanel error={invite.error} />}
      <div className="toolbar">
        <button type="submit" className="button primary" disabled={invite.isPending}>
          {t("users.sendInvite")}
        </button>
        <button type="button" className="button" onClick={() => setOpen(false)}>
          {t("common.cancel")}
        </button>
      </div>
    </form>
  );
}
