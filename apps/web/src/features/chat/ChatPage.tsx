import { useParams } from "react-router";

import { PageHeader } from "../../components/PageHeader";
import { useT } from "../../i18n";
import { ConversationList } from "./ConversationList";
import { ThreadView } from "./ThreadView";
import { useChatLive } from "./useChatLive";

/** Conversations beside the open one on a wide screen; one at a time on a phone. */
export default function ChatPage() {
  const t = useT();
  const { conversationId } = useParams();
  const live = useChatLive();
  return (
    <>
      <PageHeader title={t("chat.title")} />
      <div className="chat-layout" data-open={conversationId ? "thread" : "list"}>
        <ConversationList activeId={conversationId} />
        {conversationId ? (
          <ThreadView key={conversationId} conversationId={conversationId} live={live} />
        ) : (
          <p className="chat-placeholder wide-only">{t("chat.pickConversation")}</p>
        )}
      </div>
    </>
  );
}
