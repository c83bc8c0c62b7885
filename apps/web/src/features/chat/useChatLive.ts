import { useQueryClient } from "@tanstack/react-query";
import { useEffect, useState } from "react";

import { addToThread, conversationsQuery, type Thread } from "./api";
import { connectChat, type LiveState } from "./live";

/** Keep the chat caches current from the socket while the chat screen is open. */
export function useChatLive(): LiveState {
  const queryClient = useQueryClient();
  const [state, setState] = useState<LiveState>("connecting");
  useEffect(() => {
    const refreshList = () => void queryClient.invalidateQueries({ queryKey: conversationsQuery.queryKey });
    return connectChat({
      onMessage: (message) => {
        addToThread(queryClient, message.conversation_id, [message]);
        refreshList();
      },
      onUpdated: (message) => addToThread(queryClient, message.conversation_id, [message]),
      onConversationAdded: refreshList,
      onReady: refreshList,
      onState: setState,
      cursors: () => {
        const cursors: Record<string, number> = {};
        for (const [key, thread] of queryClient.getQueriesData<Thread>({ queryKey: ["chat", "thread"] })) {
          const last = thread?.items.at(-1);
          if (last) cursors[String(key[2])] = last.sequence;
        }
        return cursors;
      },
    });
  }, [queryClient]);
  return state;
}
