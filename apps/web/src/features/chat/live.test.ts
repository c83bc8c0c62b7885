import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { forgetSession, startSession } from "../../api";
import { TOKENS } from "../../test/http";
import { backoff, connectChat, socketUrl, type LiveHandlers } from "./live";

class FakeSocket {
  static OPEN = 1;
  static all: FakeSocket[] = [];
  readyState = 0;
  sent: unknown[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((event: { data: string }) => void) | null = null;
  onclose: ((event: { code: number }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.all.push(this);
  }
  send(data: string) {
    this.sent.push(JSON.parse(data));
  }
  close() {
    this.readyState = 3;
  }
  open() {
    this.readyState = 1;
    this.onopen?.();
  }
  receive(frame: unknown) {
    this.onmessage?.({ data: JSON.stringify(frame) });
  }
  drop(code = 1006) {
    this.readyState = 3;
    this.onclose?.({ code });
  }
}

const message = (sequence: number) => ({
  id: `m-${sequence}`,
  conversation_id: "conv-1",
  sender_id: "u-2",
  sequence,
  body: `hello ${sequence}`,
  attachments: [],
  created_at: "2026-11-26T05:00:00Z",
  edited_at: null,
  deleted_at: null,
});

function handlers(cursor: { value: number }) {
  return {
    onMessage: vi.fn((m: { sequence: number }) => {
      cursor.value = m.sequence;
    }),
    onUpdated: vi.fn(),
    onConversationAdded: vi.fn(),
    onReady: vi.fn(),
    onState: vi.fn(),
    cursors: () => ({ "conv-1": cursor.value }),
  } satisfies LiveHandlers;
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.stubGlobal("WebSocket", FakeSocket);
  vi.useFakeTimers();
  startSession(TOKENS);
});
afterEach(() => {
  forgetSession();
  vi.useRealTimers();
});

describe("live chat", () => {
  it("connects to /api/chat/ws on the API's origin, as ws or wss", () => {
    expect(socketUrl("", "http://localhost:5173")).toBe("ws://localhost:5173/api/chat/ws");
    expect(socketUrl("https://erp.school.in", "http://ignored")).toBe("wss://erp.school.in/api/chat/ws");
  });

  it("backs off 1 s, 2 s, 4 s … up to 30 s", () => {
    expect([0, 1, 2, 10].map((n) => backoff(n, () => 0.5))).toEqual([1000, 2000, 4000, 30000]);
  });

  it("signs in with the token and its cursors, and after a drop reconnects and resumes from the last message", () => {
    const cursor = { value: 4 };
    const h = handlers(cursor);
    const stop = connectChat(h);
    const first = FakeSocket.all[0];
    first.open();
    expect(first.sent[0]).toEqual({ type: "auth", token: "access-1", cursors: { "conv-1": 4 } });
    first.receive({ type: "ready", conversations: { "conv-1": 5 } });
    expect(h.onState).toHaveBeenLastCalledWith("live");
    first.receive({ type: "message", message: message(5) });
    expect(h.onMessage).toHaveBeenCalledWith(message(5));

    first.drop();
    expect(h.onState).toHaveBeenLastCalledWith("offline");
    vi.advanceTimersByTime(1500);
    const second = FakeSocket.all[1];
    second.open();
    expect(second.sent[0]).toEqual({ type: "auth", token: "access-1", cursors: { "conv-1": 5 } });
    stop();
    expect(second.readyState).toBe(3);
  });

  it("stops trying when the account may not chat", () => {
    const h = handlers({ value: 0 });
    connectChat(h);
    FakeSocket.all[0].open();
    FakeSocket.all[0].drop(4403);
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
    expect(h.onState).toHaveBeenLastCalledWith("offline");
  });
});
