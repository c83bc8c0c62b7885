import { act, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { forgetSession, startSession } from "../../api";
import { acknowledgeSessionEnd } from "../../session";
import { json, TOKENS } from "../../test/http";
import { renderApp, stubApi, TEACHER } from "../../test/renderApp";

class FakeSocket {
  static OPEN = 1;
  static last: FakeSocket | null = null;
  readyState = 1;
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor() {
    FakeSocket.last = this;
    setTimeout(() => this.onopen?.(), 0);
  }
  send() {}
  close() {}
  push(frame: unknown) {
    act(() => this.onmessage?.({ data: JSON.stringify(frame) }));
  }
}

const CONVERSATION = {
  id: "conv-1",
  kind: "direct",
  title: "Anil Khanna",
  section_id: null,
  announcements_only: false,
  role: "member",
  muted: false,
  last_sequence: 1,
  last_read_sequence: 1,
  unread: 0,
  last_message_at: "2026-11-26T05:00:00Z",
};
const message = (sequence: number, body: string, sender = "u-9") => ({
  id: `m-${sequence}`,
  conversation_id: "conv-1",
  sender_id: sender,
  sequence,
  body,
  attachments: [],
  created_at: "2026-11-26T05:00:00Z",
  edited_at: null,
  deleted_at: null,
});

function stubChat() {
  const sent: string[] = [];
  stubApi(TEACHER, (url, init) => {
    if (url.startsWith("/api/chat/conversations?")) return json(200, { items: [CONVERSATION], total: 1, limit: 200, offset: 0 });
    if (url === "/api/chat/conversations/conv-1/members")
      return json(200, [
        { user_id: "u-1", name: "Sunita Rao", role: "member", joined_at: "" },
        { user_id: "u-9", name: "Anil Khanna", role: "member", joined_at: "" },
      ]);
    if (url.startsWith("/api/chat/conversations/conv-1/messages?")) return json(200, { items: [message(1, "Is the bus late today?")], has_more: false });
    if (url === "/api/chat/conversations/conv-1/messages" && init.method === "POST") {
      const body = JSON.parse(String(init.body)) as { body: string };
      sent.push(body.body);
      return json(201, message(3, body.body, "u-1"));
    }
    if (url.startsWith("/api/chat/search/messages?"))
      return json(200, [{ id: "m-1", conversation_id: "conv-1", sender_id: "u-9", sequence: 1, created_at: "2026-11-26T05:00:00Z", snippet: "Is the &lt;b&gt;bus&lt;/b&gt; <mark>late</mark> today?", rank: 1 }]);
    return undefined;
  });
  return sent;
}

beforeEach(() => {
  vi.stubGlobal("WebSocket", FakeSocket);
  startSession(TOKENS);
});
afterEach(() => {
  forgetSession();
  acknowledgeSessionEnd();
});

describe("chat", () => {
  it("shows live messages once each, and what the teacher sends, in order", async () => {
    const sent = stubChat();
    const user = userEvent.setup();
    renderApp("/chat/conv-1");
    const log = await screen.findByRole("log", { name: "Messages" });
    expect(await within(log).findByText("Is the bus late today?")).toBeInTheDocument();
    expect(await within(log).findByText("Anil Khanna", { selector: ".message-meta span" })).toBeInTheDocument();

    FakeSocket.last!.push({ type: "ready", conversations: { "conv-1": 1 } });
    expect(await screen.findByText("Live")).toBeInTheDocument();
    FakeSocket.last!.push({ type: "message", message: message(2, "It left at 7:40.") });
    FakeSocket.last!.push({ type: "message", message: message(2, "It left at 7:40.") });
    expect(await within(log).findAllByText("It left at 7:40.")).toHaveLength(1);

    await user.type(screen.getByLabelText("Write a message"), "Thank you{Enter}");
    expect(await within(log).findByText("Thank you")).toBeInTheDocument();
    FakeSocket.last!.push({ type: "message", message: message(3, "Thank you", "u-1") }); // the same, live
    FakeSocket.last!.push({ type: "message", message: message(4, "See you at 2.") });
    await within(log).findByText("See you at 2.");
    expect(within(log).getAllByText("Thank you")).toHaveLength(1);
    expect(sent).toEqual(["Thank you"]);
    const bodies = within(log).getAllByRole("article").map((a) => a.querySelector(".message-body")?.textContent);
    expect(bodies).toEqual(["Is the bus late today?", "It left at 7:40.", "Thank you", "See you at 2."]);
  });

  it("finds messages and highlights the words, showing markup in them as text", async () => {
    stubChat();
    const user = userEvent.setup();
    renderApp("/chat");
    await user.type(await screen.findByLabelText("Search messages"), "late");
    const results = await screen.findByRole("list", { name: "Search results" });
    const link = within(results).getByRole("link");
    expect(link).toHaveAttribute("href", "/chat/conv-1");
    expect(link).toHaveTextContent("Is the <b>bus</b> late today?");
    expect(link.querySelector("mark")).toHaveTextContent("late");
    expect(link.querySelector("b")).toBeNull();
  });
});
