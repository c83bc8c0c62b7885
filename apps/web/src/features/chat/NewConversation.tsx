import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState } from "react";
import { useNavigate } from "react-router";

import { ErrorPanel, Loading } from "../../components/Status";
import { useT } from "../../i18n";
import { contactsQuery, conversationsQuery, startDirect } from "./api";

/** Start (or reopen) a direct conversation with someone the caller may write to. */
export function NewConversation() {
  const t = useT();
  const [open, setOpen] = useState(false);
  const navigate = useNavigate();
  const queryClient = useQueryClient();
  const contacts = useQuery({ ...contactsQuery, enabled: open });
  const start = useMutation({
    mutationFn: startDirect,
    onSuccess: (conversation) => {
      void queryClient.invalidateQueries({ queryKey: conversationsQuery.queryKey });
      setOpen(false);
      navigate(`/chat/${conversation.id}`);
    },
  });
  if (!open) {
    return (
      <button type="button" className="button block-narrow" onClick={() => setOpen(true)}>
        {t("chat.new")}
      </button>
    );
  }
  return (
    <div className="new-conversation">
      <p id="contacts-label">
        <strong>{t("chat.writeTo")}</strong>
      </p>
      {contacts.isPending ? (
        <Loading />
      ) : contacts.isError ? (
        <ErrorPanel error={contacts.error} />
      ) : contacts.data.length === 0 ? (
        <p className="muted">{t("chat.noContacts")}</p>
      ) : (
        <ul className="plain-list contact-list" aria-labelledby="contacts-label">
          {contacts.data.map((contact) => (
            <li key={contact.user_id}>
              <button type="button" className="button link" disabled={start.isPending} onClick={() => start.mutate(contact.user_id)}>
                {contact.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      {start.isError && <ErrorPanel error={start.error} />}
      <button type="button" className="button" onClick={() => setOpen(false)}>
        {t("common.cancel")}
      </button>
    </div>
  );
}
