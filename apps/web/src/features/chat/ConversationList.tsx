import { useQuery } from "@tanstack/react-query";
import { useState } from "react";
import { Link } from "react-router";

import { EmptyState } from "../../components/EmptyState";
import { ErrorPanel, Loading } from "../../components/Status";
import { formatDateTime } from "../../format";
import { useDebounced } from "../../hooks/useDebounced";
import { useI18n } from "../../i18n";
import { conversationsQuery, searchQuery, type Conversation } from "./api";
import { NewConversation } from "./NewConversation";
import { Snippet } from "./Snippet";

export function conversationTitle(conversation: Conversation | undefined, fallback: string): string {
  return conversation?.title || fallback;
}

export function ConversationList({ activeId }: { activeId?: string }) {
  const { t, language } = useI18n();
  const [search, setSearch] = useState("");
  const q = useDebounced(search.trim(), 400);
  const conversations = useQuery(conversationsQuery);
  const hits = useQuery({ ...searchQuery(q), enabled: q.length >= 2 });
  const byId = new Map((conversations.data?.items ?? []).map((c) => [c.id, c]));

  return (
    <aside className="chat-list" aria-label={t("chat.conversations")}>
      <div role="search">
        <label htmlFor="chat-search" className="visually-hidden">
          {t("chat.search")}
        </label>
        <input
          id="chat-search"
          type="search"
          placeholder={t("chat.search")}
          value={search}
          onChange={(event) => setSearch(event.target.value)}
        />
      </div>
      {q.length >= 2 ? (
        hits.isPending ? (
          <Loading />
        ) : hits.isError ? (
          <ErrorPanel error={hits.error} />
        ) : hits.data.length === 0 ? (
          <p className="muted">{t("chat.noResults", { q })}</p>
        ) : (
          <ul className="conversation-items" aria-label={t("chat.results")}>
            {hits.data.map((hit) => (
              <li key={hit.id}>
                <Link to={`/chat/${hit.conversation_id}`} className="conversation-item">
                  <span className="conversation-title">
                    {conversationTitle(byId.get(hit.conversation_id), t("chat.untitled"))}
                  </span>
                  <Snippet snippet={hit.snippet} />
                  <span className="muted small">{formatDateTime(hit.created_at, language)}</span>
                </Link>
              </li>
            ))}
          </ul>
        )
      ) : (
        <>
          <NewConversation />
          {conversations.isPending ? (
            <Loading />
          ) : conversations.isError ? (
            <ErrorPanel error={conversations.error} onRetry={() => void conversations.refetch()} />
          ) : conversations.data.items.length === 0 ? (
            <EmptyState title={t("chat.emptyTitle")}>{t("chat.emptyBody")}</EmptyState>
          ) : (
            <ul className="conversation-items">
              {conversations.data.items.map((conversation) => (
                <li key={conversation.id}>
                  <Link
                    to={`/chat/${conversation.id}`}
                    className="conversation-item"
                    aria-current={conversation.id === activeId ? "page" : undefined}
                  >
                    <span className="conversation-title">{conversationTitle(conversation, t("chat.untitled"))}</span>
                    {conversation.unread > 0 && (
                      <span className="badge unread" aria-label={t("chat.unread", { count: conversation.unread })}>
                        {conversation.unread}
                      </span>
                    )}
                    {conversation.last_message_at && (
                      <span className="muted small">{formatDateTime(conversation.last_message_at, language)}</span>
                    )}
                  </Link>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </aside>
  );
}
