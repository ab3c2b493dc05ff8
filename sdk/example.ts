// The README's SDK examples, verbatim (scripts/sdk-check.mjs fails when they drift apart), so
// CI type-checks them against the generated types: sdk/tsconfig.browser.json includes this file.
declare function render(notification: unknown): void;
declare function showSignIn(): void;

import { ApiError, createClient, etagOf, ifMatch, type ResponseBody } from "collab-events-api/sdk";

const api = createClient({ baseUrl: "http://localhost:8787" });
await api.auth.login({ username: "ada", password: "correct horse battery" });

const { data: event, error, response } = await api.POST("/api/events", {
  body: { title: "Design review", start_time: "2031-03-01T10:00:00+02:00", end_time: "2031-03-01T11:00:00+02:00" },
});
if (!event) throw new ApiError(response.status, error); // error: the problem, typed per status

const read = await api.GET("/api/events/{id}", { params: { path: { id: event.id } } });
const moved = await api.PATCH("/api/events/{id}", {
  params: { path: { id: event.id } },
  headers: ifMatch(etagOf(read.response)),
  body: { location: "Room 5" },
});
if (moved.response.status === 412) {
  const { current } = moved.error as ResponseBody<"/api/events/{id}", "patch", 412>;
  // current is the event as it is now: merge and retry with its ETag
}

const stream = api.notifications({
  since: Number(localStorage.lastId ?? 0),
  onNotification: (n) => {
    localStorage.lastId = String(n.id);
    render(n);
  },
  onState: (state, { code }) => state === "stopped" && code === 4001 && showSignIn(),
});
// later: stream.close()
