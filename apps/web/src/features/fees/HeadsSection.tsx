import { useQuery } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";

import { EmptyState } from "../../components/EmptyState";
import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { createHead, headsQuery, updateHead } from "./api";
import { useCanManageFees, useFeeMutation } from "./useFeeManager";

/** Fee heads: tuition, transport, exam … each billed by the structures. */
export function HeadsSection() {
  const t = useT();
  const canManage = useCanManageFees();
  const heads = useQuery(headsQuery);
  const toggle = useFeeMutation(({ id, active }: { id: string; active: boolean }) => updateHead(id, { is_active: active }));
  return (
    <section className="card" aria-labelledby="heads-title">
      <h2 id="heads-title">{t("feeSetup.tab.heads")}</h2>
      <p className="hint">{t("feeSetup.headsHint")}</p>
      {heads.isPending ? (
        <Loading />
      ) : heads.isError ? (
        <ErrorPanel error={heads.error} onRetry={() => void heads.refetch()} />
      ) : heads.data.items.length === 0 ? (
        <EmptyState title={t("feeSetup.noHeadsTitle")}>{t("feeSetup.noHeadsBody")}</EmptyState>
      ) : (
        <ul className="plain-list">
          {heads.data.items.map((head) => (
            <li key={head.id} className="split-row">
              <span>
                <strong>{head.name}</strong> <span className="muted small">· {head.code}</span>
                {!head.is_active && <span className="badge muted-badge">{t("feeSetup.notBilled")}</span>}
              </span>
              {canManage && (
                <button
                  type="button"
                  className="button link"
                  disabled={toggle.isPending}
                  onClick={() => toggle.mutate({ id: head.id, active: !head.is_active })}
                >
                  {head.is_active ? t("feeSetup.stopBilling") : t("feeSetup.billAgain")}
                  <span className="visually-hidden"> {head.name}</span>
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      {toggle.isError && <ErrorPanel error={toggle.error} />}
      {canManage && <HeadForm />}
    </section>
  );
}

function HeadForm() {
  const t = useT();
  const [code, setCode] = useState("");
  const [name, setName] = useState("");
  const [invalid, setInvalid] = useState(false);
  const create = useFeeMutation(createHead, () => {
    setCode("");
    setName("");
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const ok = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/.test(code.trim()) && name.trim().length > 0;
    setInvalid(!ok);
    if (ok) create.mutate({ code: code.trim().toUpperCase(), name: name.trim() });
  };
  return (
    <form className="inline-form" onSubmit={submit} aria-label={t("feeSetup.addHead")} noValidate>
      <div className="field-grid two">
        <div>
          <label htmlFor="head-name">{t("feeSetup.headName")}</label>
          <input id="head-name" type="text" value={name} maxLength={100} placeholder={t("feeSetup.headNameExample")} onChange={(e) => setName(e.target.value)} />
        </div>
        <div>
          <label htmlFor="head-code">{t("feeSetup.headCode")}</label>
          <input id="head-code" type="text" value={code} maxLength={32} placeholder="TUITION" aria-describedby="head-code-hint" onChange={(e) => setCode(e.target.value)} />
          <p id="head-code-hint" className="hint">
            {t("feeSetup.headCodeHint")}
          </p>
        </div>
      </div>
      {invalid && (
        <p className="form-error" role="alert">
          {t("feeSetup.headInvalid")}
        </p>
      )}
      {create.isError && <ErrorPanel error={create.error} />}
      <button type="submit" className="button primary" disabled={create.isPending}>
        {t("feeSetup.addHead")}
      </button>
    </form>
  );
}
