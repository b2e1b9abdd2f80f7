// A server-sent-event reader over fetch (EventSource cannot send the Authorization header).
// Reconnects after the server's `retry:` delay, resuming with Last-Event-ID; stops on
// `event: end` or when aborted.
import { rawGet } from "./api/client";

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export async function followSse(
  url: string,
  onEvent: (e: SseEvent) => void,
  signal: AbortSignal,
  onState?: (s: "live" | "reconnecting" | "ended") => void,
): Promise<void> {
  let lastId: string | undefined;
  let retry = 2000;
  while (!signal.aborted) {
    try {
      const r = await rawGet(url, { Accept: "text/event-stream", ...(lastId ? { "Last-Event-ID": lastId } : {}) }, signal);
      onState?.("live");
      const reader = r.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replace(/\r\n/g, "\n");
        let cut: number;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const block = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          const ev: SseEvent = { event: "message", data: "" };
          const data: string[] = [];
          for (const line of block.split("\n")) {
            if (!line || line.startsWith(":")) continue;
            const i = line.indexOf(":");
            const field = i < 0 ? line : line.slice(0, i);
            const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
            if (field === "id") ev.id = val;
            else if (field === "event") ev.event = val;
            else if (field === "data") data.push(val);
            else if (field === "retry" && /^\d+$/.test(val)) retry = Number(val);
          }
          if (!data.length && ev.event === "message") continue;
          ev.data = data.join("\n");
          if (ev.id) lastId = ev.id;
          if (ev.event === "end") {
            onState?.("ended");
            onEvent(ev);
            return;
          }
          onEvent(ev);
        }
      }
    } catch (e) {
      if (signal.aborted) return;
      void e;
    }
    onState?.("reconnecting");
    await new Promise((res) => setTimeout(res, retry));
  }
}
