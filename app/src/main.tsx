// The reference web client of the API, on the typed SDK (sdk/). Preact: React's model in a few KB.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import type { Notification, NotificationStream, Schemas } from "../../sdk/index";
import { api, onSessionChange, problemText, remember, savedUser, type User } from "./api";
import { EventDialog } from "./event";
import { FeedsDialog, HistoryDialog, NotificationsDialog, ShareDialog } from "./panels";
import { dayStart, fmt, timeOf, userZone, weekStart } from "./time";
import { ErrorText, Field } from "./ui";
import "./app.css";

type AgendaItem = Schemas["AgendaPage"]["items"][number];
type Event = Schemas["Event"];

function SignIn() {
  const [mode, setMode] = useState<"in" | "up">("in");
  const [username, setUsername] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(e: SubmitEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const session = mode === "in" ? await api.auth.login({ username, password }) : await api.auth.register({ username, email, password });
      remember(session.user);
    } catch (thrown) {
      setError(problemText(thrown));
    } finally {
      setBusy(false);
    }
  }
  return (
    <main class="signin">
      <h1>Collaborative Events</h1>
      <form onSubmit={submit} aria-label={mode === "in" ? "Sign in" : "Sign up"}>
        <h2>{mode === "in" ? "Sign in" : "Create an account"}</h2>
        <Field label="Username">{(id) => <input id={id} autocomplete="username" required value={username} onInput={(e) => setUsername(e.currentTarget.value)} />}</Field>
        {mode === "up" ? <Field label="Email">{(id) => <input id={id} type="email" autocomplete="email" required value={email} onInput={(e) => setEmail(e.currentTarget.value)} />}</Field> : null}
        <Field label="Password" hint={mode === "up" ? "8 to 128 characters." : undefined}>
          {(id) => <input id={id} type="password" autocomplete={mode === "in" ? "current-password" : "new-password"} required value={password} onInput={(e) => setPassword(e.currentTarget.value)} />}
        </Field>
        <ErrorText text={error} />
        <button type="submit" class="primary" disabled={busy}>
          {mode === "in" ? "Sign in" : "Sign up"}
        </button>
        <p>
          <button type="button" class="link" onClick={() => (setMode(mode === "in" ? "up" : "in"), setError(null))}>
            {mode === "in" ? "New here? Create an account" : "Have an account? Go to sign-in"}
          </button>
        </p>
      </form>
    </main>
  );
}

type Open =
  | { kind: "event"; id: number | null; seed?: { start: string; end: string } }
  | { kind: "share"; id: number }
  | { kind: "history"; id: number }
  | { kind: "notifications" }
  | { kind: "feeds" }
  | null;

function Calendar(props: { user: User }) {
  const zone = userZone();
  const [week, setWeek] = useState(() => weekStart(Date.now(), zone));
  const [items, setItems] = useState<AgendaItem[] | null>(null);
  const [events, setEvents] = useState<Map<number, Event>>(new Map());
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Open>(null);
  const [ticks, setTicks] = useState<Record<number, number>>({});
  const [unread, setUnread] = useState(0);
  const [live, setLive] = useState<Notification[]>([]);
  const [status, setStatus] = useState("connecting");
  const [announce, setAnnounce] = useState("");
  const loadSeq = useRef(0);
  const weekRef = useRef(week);
  weekRef.current = week;

  const days = Array.from({ length: 7 }, (_, i) => dayStart(week, zone, i));
  const end = dayStart(week, zone, 7);

  async function load() {
    const seq = ++loadSeq.current;
    const start = new Date(weekRef.current).toISOString();
    const stop = new Date(dayStart(weekRef.current, zone, 7)).toISOString();
    const [agenda, list] = await Promise.all([
      api.GET("/api/agenda", { params: { query: { start, end: stop, limit: 100 } } }),
      api.GET("/api/events", { params: { query: { start, end: stop, limit: 100 } } }),
    ]).catch((thrown) => {
      setError(problemText(thrown));
      return [null, null] as const;
    });
    if (seq !== loadSeq.current || !agenda) return;
    if (!agenda.data) return setError(problemText(agenda.error, agenda.response.status));
    setError(null);
    setItems(agenda.data.items);
    if (list?.data) setEvents(new Map(list.data.items.map((e) => [e.id, e])));
  }
  async function loadUnread() {
    const { data } = await api.GET("/api/notifications", { params: { query: { unread: "true", limit: 1 } } });
    if (data) setUnread(data.unread_count);
  }
  useEffect(() => void load(), [week]);
  // Narrow screens scroll the week sideways (app.css): start at today's column when it is in view.
  const grid = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = grid.current;
    const todayCell = el?.querySelector<HTMLElement>(".day.today");
    if (el && el.scrollWidth > el.clientWidth) el.scrollLeft = todayCell ? todayCell.offsetLeft : 0;
  }, [week]);

  // Live updates: every notification reloads the week and any open view of its event. The stream
  // resumes from the last id it saw, so a reconnect (after sleep or a lost network) replays what
  // was missed; coming back online restarts it at once rather than after the backoff.
  useEffect(() => {
    void loadUnread();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const changed = (n: Notification) => {
      if (n.event_id !== null) setTicks((t) => ({ ...t, [n.event_id!]: (t[n.event_id!] ?? 0) + 1 }));
      if (!n.is_read) setUnread((u) => u + 1);
      setLive((l) => [n, ...l].slice(0, 50));
      if (n.actor.id !== props.user.id) setAnnounce(n.message);
      clearTimeout(timer);
      timer = setTimeout(() => void load(), 50);
    };
    let stream: NotificationStream;
    const start = (since?: number) => {
      stream = api.notifications({ since, onNotification: changed, onState: (state) => setStatus(state), onHello: () => void load() });
    };
    start();
    const online = () => {
      const since = stream.lastId() ?? undefined;
      stream.close();
      start(since);
    };
    window.addEventListener("online", online);
    return () => {
      window.removeEventListener("online", online);
      stream.close();
      clearTimeout(timer);
    };
  }, []);

  const newEvent = () => {
    const now = Date.now();
    const hour = 3_600_000;
    const inWeek = now >= week && now < end ? now : week + 9 * hour;
    const start = Math.ceil(inWeek / hour) * hour;
    setOpen({ kind: "event", id: null, seed: { start: new Date(start).toISOString(), end: new Date(start + hour).toISOString() } });
  };
  const label = `Week of ${fmt(week, zone, { day: "numeric", month: "long" })} – ${fmt(end - 1, zone, { day: "numeric", month: "long", year: "numeric" })}`;
  const today = dayStart(Date.now(), zone);

  return (
    <div class="shell">
      <header class="top">
        <h1>Calendar</h1>
        <div class="who">
          <span class={`dot ${status}`} title={status === "open" ? "Live" : "Reconnecting"} aria-hidden="true" />
          <span class="sr-only" role="status">
            {status === "open" ? "Live updates on" : "Live updates reconnecting"}
          </span>
          <button type="button" onClick={() => setOpen({ kind: "notifications" })}>
            Notifications <span class="badge" aria-label={`${unread} unread`}>{unread}</span>
          </button>
          <button type="button" onClick={() => setOpen({ kind: "feeds" })}>
            Feeds
          </button>
          <span class="me">{props.user.username}</span>
          <button type="button" onClick={() => void api.auth.logout()}>
            Sign out
          </button>
        </div>
      </header>
      <main>
        <nav class="toolbar" aria-label="Week">
          <button type="button" onClick={() => setWeek(weekStart(week, zone, -1))}>
            <span aria-hidden="true">‹ </span>Previous week
          </button>
          <button type="button" onClick={() => setWeek(weekStart(Date.now(), zone))}>
            Today
          </button>
          <button type="button" onClick={() => setWeek(weekStart(week, zone, 1))}>
            Next week<span aria-hidden="true"> ›</span>
          </button>
          <h2 class="range">{label}</h2>
          <span class="zone">Times in {zone}</span>
          <button type="button" class="primary" onClick={newEvent}>
            New event
          </button>
        </nav>
        <ErrorText text={error} />
        {/* Focusable: on narrow screens it is a region that scrolls sideways, and keys must reach it. */}
        <div role="grid" aria-label={label} class="week" aria-busy={items === null} tabIndex={0} ref={grid}>
          <div role="row" class="days">
            {days.map((day) => {
              const next = dayStart(day, zone, 1);
              const mine = (items ?? []).filter((i) => {
                const s = Date.parse(i.start_time);
                return s >= day && s < next;
              });
              return (
                <div role="gridcell" key={day} class={day === today ? "day today" : "day"} aria-current={day === today ? "date" : undefined}>
                  <div class="day-head">
                    <span aria-hidden="true">
                      {fmt(day, zone, { weekday: "short" })} <strong>{fmt(day, zone, { day: "numeric" })}</strong>
                    </span>
                    <span class="sr-only">{fmt(day, zone, { weekday: "long", day: "numeric", month: "long" })}</span>
                  </div>
                  {mine.map((item) => {
                    const ev = events.get(item.event_id);
                    const other = ev && ev.timezone !== zone ? ev.timezone : null;
                    return (
                      <button type="button" class={`event ${item.my_role}`} key={`${item.event_id}-${item.original_start}`} onClick={() => setOpen({ kind: "event", id: item.event_id })}>
                        <span class="title">{item.title}</span>
                        <span class="when">
                          {timeOf(item.start_time, zone)}–{timeOf(item.end_time, zone)}
                        </span>
                        {other ? (
                          <span class="other-zone">
                            {timeOf(item.start_time, other)} {other}
                          </span>
                        ) : null}
                        {item.my_role !== "owner" ? <span class="role">{item.my_role}</span> : null}
                      </button>
                    );
                  })}
                </div>
              );
            })}
          </div>
        </div>
        <p class="sr-only" aria-live="polite">
          {announce}
        </p>
      </main>
      {open?.kind === "event" ? (
        <EventDialog
          key={open.id ?? "new"}
          id={open.id}
          seed={open.seed}
          zone={zone}
          tick={open.id !== null ? (ticks[open.id] ?? 0) : 0}
          onClose={() => setOpen(null)}
          onChanged={() => void load()}
          onShare={(id) => setOpen({ kind: "share", id })}
          onHistory={(id) => setOpen({ kind: "history", id })}
        />
      ) : null}
      {open?.kind === "share" ? <ShareDialog id={open.id} tick={ticks[open.id] ?? 0} onClose={() => setOpen({ kind: "event", id: open.id })} /> : null}
      {open?.kind === "history" ? <HistoryDialog id={open.id} zone={zone} tick={ticks[open.id] ?? 0} onClose={() => setOpen({ kind: "event", id: open.id })} onChanged={() => void load()} /> : null}
      {open?.kind === "notifications" ? <NotificationsDialog zone={zone} live={live} onUnread={setUnread} onClose={() => setOpen(null)} onOpen={(id) => setOpen({ kind: "event", id })} /> : null}
      {open?.kind === "feeds" ? <FeedsDialog zone={zone} onClose={() => setOpen(null)} /> : null}
    </div>
  );
}

function App() {
  const [user, setUser] = useState<User | null>(savedUser);
  useEffect(() => onSessionChange(setUser), []);
  useEffect(() => {
    if (!user) return;
    // Checks the saved session (refreshing it silently when the access token ran out).
    void api.GET("/api/auth/me").then(({ data }) => data && remember(data));
  }, []);
  return user ? <Calendar key={user.id} user={user} /> : <SignIn />;
}

render(<App />, document.getElementById("app")!);
