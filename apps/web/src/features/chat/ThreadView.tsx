import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from "react";
import { Link } from "react-router";

import { ErrorPanel, Loading } from "../../components/Status";
import { formatDateTime } from "../../format";
import { useI18n } from "../../i18n";
import { useCurrentUser } from "../identity/currentUser";
import {
  addToThread,
  conversationsQuery,
  loadEarlier,
  markRead,
  membersQuery,
  sendMessage,
  threadQuery,
} from "./api";
import { conversationTitle } from "./ConversationList";
import type { LiveState } from "./live";

export function ThreadView({ conversationId, live }: { conversationId: string; live: LiveState }) {
  const { t, language } = useI18n();
  const me = useCurrentUser();
  const queryClient = useQueryClient();
  const conversations = useQuery(conversationsQuery);
  const conversation = conversations.data?.items.find((c) => c.id === conversationId);
  const thread = useQuery(threadQuery(conversationId));
  const members = useQuery(membersQuery(conversationId));
  const names = new Map((members.data ?? []).map((m) => [m.user_id, m.name]));
  const bottom = useRef<HTMLDivElement>(null);
  const [olderError, setOlderError] = useState<unknown>(null);
  const last = thread.data?.items.at(-1)?.sequence ?? 0;

  // Seen what is on screen: tell the server, so the unread count goes to zero.
  useEffect(() => {
    if (last > 0 && conversation && conversation.last_read_sequence < last) {
      markRead(conversationId, last).then(
        () => void queryClient.invalidateQueries({ queryKey: conversationsQuery.queryKey }),
        () => undefined, // best effort: the count is corrected next time
      );
    }
  }, [conversationId, last, conversation, queryClient]);

  useEffect(() => {
    bottom.current?.scrollIntoView?.({ block: "end" });
  }, [last]);

  const readOnly = conversation?.announcements_only && conversation.role !== "owner";
  return (
    <section className="chat-thread" aria-labelledby="thread-title">
      <header className="thread-header">
        <Link to="/chat" className="narrow-only">
          {t("chat.back")}
        </Link>
        <h2 id="thread-title">{conversationTitle(conversation, t("chat.untitled"))}</h2>
        <span className={`live-state live-${live}`} role="status">
          {t(`chat.live.${live}`)}
        </span>
      </header>
      {thread.isPending ? (
        <Loading />
      ) : thread.isError ? (
        <ErrorPanel error={thread.error} onRetry={() => void thread.refetch()} />
      ) : (
        <div className="messages" role="log" aria-live="polite" aria-label={t("chat.messages")}>
          {thread.data.hasMore && (
            <button
              type="button"
              className="button link"
              onClick={() => loadEarlier(queryClient, conversationId).then(() => setOlderError(null), setOlderError)}
            >
              {t("chat.loadEarlier")}
            </button>
          )}
          {olderError !== null && <ErrorPanel error={olderError} />}
          {thread.data.items.length === 0 && <p className="muted">{t("chat.noMessages")}</p>}
          {thread.data.items.map((message) => {
            const mine = message.sender_id === me.user.id;
            return (
              <article key={message.sequence} className={`message${mine ? " mine" : ""}`}>
                <p className="message-meta">
                  <span>{mine ? t("chat.you") : (names.get(message.sender_id ?? "") ?? t("chat.someone"))}</span>
                  {" · "}
                  <time dateTime={message.created_at}>{formatDateTime(message.created_at, language)}</time>
                </p>
                <p className="message-body">{message.deleted_at ? <em>{t("chat.deleted")}</em> : message.body}</p>
              </article>
            );
          })}
          <div ref={bottom} />
        </div>
      )}
      {readOnly ? <p className="notice">{t("chat.announcementsOnly")}</p> : <Composer conversationId={conversationId} />}
    </section>
  );
}

function Composer({ conversationId }: { conversationId: string }) {
  const { t } = useI18n();
  const queryClient = useQueryClient();
  const [text, setText] = useState("");
  const send = useMutation({
    mutationFn: (body: string) => sendMessage(conversationId, body),
    onSuccess: (message) => {
      addToThread(queryClient, conversationId, [message]);
      setText("");
    },
  });
  const submit = (event?: FormEvent) => {
    event?.preventDefault();
    const body = text.trim();
    if (body && !send.isPending) send.mutate(body);
  };
  // Enter sends, Shift+Enter starts a new line (as in WhatsApp on a computer).
  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      submit();
    }
  };
  return (
    <form className="composer" onSubmit={submit}>
      <label htmlFor="composer-text" className="visually-hidden">
        {t("chat.write")}
      </label>
      <textarea
        id="composer-text"
        rows={2}
        maxLength={4000}
        placeholder={t("chat.write")}
        value={text}
        onChange={(event) => setText(event.target.value)}
        onKeyDown={onKeyDown}
      />
      <button type="submit" className="button primary" disabled={send.isPending || !text.trim()}>
        {t("chat.send")}
      </button>
      {send.isError && <ErrorPanel error={send.error} />}
    </form>
  );
}
