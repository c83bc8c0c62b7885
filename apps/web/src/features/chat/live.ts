/**
 * Live chat over /api/chat/ws (protocol in erplake/chat/live.py): sign in with the
 * access token and the last sequence we hold per conversation, then receive each
 * message once, in order. When the connection drops we reconnect with back-off and
 * send our cursors again, so nothing is missed and nothing is shown twice.
 */
import { refreshSession } from "../../api";
import { apiBase } from "../../config";
import { getAccessToken } from "../../session";
import type { Message } from "./api";

export type LiveState = "connecting" | "live" | "offline";

export interface LiveHandlers {
  onMessage: (message: Message) => void;
  onUpdated: (message: Message) => void;
  onConversationAdded: () => void;
  /** The server's newest sequence per conversation, on every (re)connect. */
  onReady: (newest: Record<string, number>) => void;
  onState: (state: LiveState) => void;
  /** The newest sequence the app holds per conversation it has loaded. */
  cursors: () => Record<string, number>;
}

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_FORBIDDEN = 4403;
const PING_MS = 25_000;
const MAX_BACKOFF_MS = 30_000;

export function socketUrl(base: string = apiBase(), origin: string = window.location.origin): string {
  return `${(base || origin).replace(/^http/, "ws")}/api/chat/ws`;
}

/** Back-off before reconnect attempt `n` (0-based): 1 s, 2 s, 4 s … up to 30 s, with jitter. */
export function backoff(attempt: number, random: () => number = Math.random): number {
  const base = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt);
  return Math.round(base * (0.75 + random() * 0.5));
}

export function connectChat(handlers: LiveHandlers): () => void {
  let socket: WebSocket | null = null;
  let attempt = 0;
  let stopped = false;
  let retryTimer: ReturnType<typeof setTimeout> | undefined;
  let pingTimer: ReturnType<typeof setInterval> | undefined;

  const scheduleReconnect = () => {
    if (stopped) return;
    handlers.onState("offline");
    retryTimer = setTimeout(open, backoff(attempt++));
  };

  function open() {
    if (stopped) return;
    const token = getAccessToken();
    if (!token) return scheduleReconnect();
    handlers.onState("connecting");
    const ws = new WebSocket(socketUrl());
    socket = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: "auth", token, cursors: handlers.cursors() }));
    ws.onmessage = (event) => {
      const frame = JSON.parse(String(event.data)) as { type: string; message?: Message; conversations?: Record<string, number> };
      if (frame.type === "ready") {
        attempt = 0;
        handlers.onState("live");
        handlers.onReady(frame.conversations ?? {});
        pingTimer = setInterval(() => ws.readyState === WebSocket.OPEN && ws.send('{"type":"ping"}'), PING_MS);
      } else if (frame.type === "message" && frame.message) handlers.onMessage(frame.message);
      else if (frame.type === "message_updated" && frame.message) handlers.onUpdated(frame.message);
      else if (frame.type === "conversation_added") handlers.onConversationAdded();
    };
    ws.onclose = (event) => {
      clearInterval(pingTimer);
      if (socket !== ws || stopped) return;
      socket = null;
      if (event.code === CLOSE_FORBIDDEN) return handlers.onState("offline");
      if (event.code === CLOSE_UNAUTHENTICATED) {
        // The access token ran out: renew it, then resume where we were.
        refreshSession().then(
          (renewed) => (renewed ? open() : handlers.onState("offline")),
          scheduleReconnect,
        );
        return;
      }
      scheduleReconnect();
    };
  }

  open();
  return () => {
    stopped = true;
    clearTimeout(retryTimer);
    clearInterval(pingTimer);
    socket?.close(1000);
    socket = null;
  };
}
