/** Parent–teacher chat over HTTP: /api/chat/* (live delivery is in live.ts). */
import { queryOptions, type QueryClient } from "@tanstack/react-query";

import { api } from "../../api";
import type { Page } from "../students/api";

export interface Conversation {
  id: string;
  kind: "direct" | "section" | "staff";
  title: string | null;
  section_id: string | null;
  announcements_only: boolean;
  role: "owner" | "member";
  muted: boolean;
  last_sequence: number;
  last_read_sequence: number;
  unread: number;
  last_message_at: string | null;
}

export interface Message {
  id: string;
  conversation_id: string;
  sender_id: string | null;
  sequence: number;
  body: string | null;
  attachments: { key: string; name: string; content_type: string }[];
  created_at: string;
  edited_at: string | null;
  deleted_at: string | null;
}

export interface Member {
  user_id: string;
  name: string;
  role: "owner" | "member";
}

export interface Contact {
  user_id: string;
  name: string;
}

export interface SearchHit {
  id: string;
  conversation_id: string;
  sender_id: string | null;
  sequence: number;
  created_at: string;
  /** HTML-escaped text with the matched words in <mark>. */
  snippet: string;
  rank: number;
}

/** Messages of one conversation, oldest first, and whether older ones exist. */
export interface Thread {
  items: Message[];
  hasMore: boolean;
}

export const conversationsQuery = queryOptions({
  queryKey: ["chat", "conversations"],
  queryFn: ({ signal }) => api<Page<Conversation>>("/api/chat/conversations?limit=200", { signal }),
});

export const contactsQuery = queryOptions({
  queryKey: ["chat", "contacts"],
  queryFn: ({ signal }) => api<Contact[]>("/api/chat/contacts", { signal }),
  staleTime: 5 * 60_000,
});

export const membersQuery = (conversationId: string) =>
  queryOptions({
    queryKey: ["chat", "members", conversationId],
    queryFn: ({ signal }) => api<Member[]>(`/api/chat/conversations/${conversationId}/members`, { signal }),
    staleTime: 5 * 60_000,
  });

export const threadKey = (conversationId: string) => ["chat", "thread", conversationId] as const;

export const threadQuery = (conversationId: string) =>
  queryOptions({
    queryKey: threadKey(conversationId),
    queryFn: async ({ signal }): Promise<Thread> => {
      const page = await api<{ items: Message[]; has_more: boolean }>(
        `/api/chat/conversations/${conversationId}/messages?limit=50`,
        { signal },
      );
      return { items: [...page.items].reverse(), hasMore: page.has_more };
    },
    // Live messages keep it current; a refetch would only repeat what the socket sent.
    staleTime: Infinity,
  });

export const searchQuery = (q: string) =>
  queryOptions({
    queryKey: ["chat", "search", q],
    queryFn: ({ signal }) => api<SearchHit[]>(`/api/chat/search/messages?q=${encodeURIComponent(q)}&limit=30`, { signal }),
    staleTime: 60_000,
  });

/** Put messages into a thread in sequence order, each once (the socket and a send may both bring one). */
export function mergeMessages(thread: Thread, incoming: readonly Message[]): Thread {
  const bySequence = new Map(thread.items.map((m) => [m.sequence, m]));
  for (const message of incoming) bySequence.set(message.sequence, message);
  return { ...thread, items: [...bySequence.values()].sort((a, b) => a.sequence - b.sequence) };
}

/** Add messages to a thread already in the cache (a thread not loaded yet will load them itself). */
export function addToThread(queryClient: QueryClient, conversationId: string, messages: readonly Message[]): void {
  queryClient.setQueryData<Thread>(threadKey(conversationId), (thread) => (thread ? mergeMessages(thread, messages) : thread));
}

export async function loadEarlier(queryClient: QueryClient, conversationId: string): Promise<void> {
  const thread = queryClient.getQueryData<Thread>(threadKey(conversationId));
  const first = thread?.items[0];
  if (!thread || !first) return;
  const page = await api<{ items: Message[]; has_more: boolean }>(
    `/api/chat/conversations/${conversationId}/messages?limit=50&before_sequence=${first.sequence}`,
  );
  queryClient.setQueryData<Thread>(threadKey(conversationId), (current) =>
    current ? { ...mergeMessages(current, page.items), hasMore: page.has_more } : current,
  );
}

export function sendMessage(conversationId: string, body: string) {
  return api<Message>(`/api/chat/conversations/${conversationId}/messages`, { method: "POST", body: { body } });
}

export function markRead(conversationId: string, sequence: number) {
  return api<{ last_read_sequence: number; unread: number }>(`/api/chat/conversations/${conversationId}/read`, {
    method: "POST",
    body: { sequence },
  });
}

export function startDirect(userId: string) {
  return api<Conversation>("/api/chat/conversations/direct", { method: "POST", body: { user_id: userId } });
}
