import { useEffect, useState } from "preact/hooks";
import type { Notification, Schemas } from "../../sdk/index";
import { api, problemText } from "./api";
import { dateTimeOf } from "./time";
import { ErrorText, Field, Modal } from "./ui";

type Permission = Schemas["Permission"];
type Entry = Schemas["ChangelogEntry"];
type Changes = Schemas["FieldChanges"];
type Role = Permission["role"];
const ROLES: Role[] = ["viewer", "editor", "owner"];

const value = (v: unknown): string => (v === null || v === undefined || v === "" ? "(empty)" : Array.isArray(v) ? `${v.length} exception${v.length === 1 ? "" : "s"}` : String(v));

function ChangeList(props: { changes: Changes }) {
  const fields = Object.entries(props.changes);
  if (!fields.length) return <p class="muted">No field differs.</p>;
  return (
    <table class="changes">
      <thead>
        <tr>
          <th scope="col">Field</th>
          <th scope="col">Before</th>
          <th scope="col">After</th>
        </tr>
      </thead>
      <tbody>
        {fields.map(([field, { from, to }]) => (
          <tr key={field}>
            <th scope="row">{field}</th>
            <td>{value(from)}</td>
            <td>{value(to)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function ShareDialog(props: { id: number; tick: number; onClose: () => void }) {
  const [list, setList] = useState<Permission[] | null>(null);
  const [who, setWho] = useState("");
  const [role, setRole] = useState<Role>("editor");
  const [error, setError] = useState<string | null>(null);
  const path = { path: { id: props.id } };
  async function load() {
    const { data, error: problem, response } = await api.GET("/api/events/{id}/permissions", { params: path });
    if (data) setList(data);
    else setError(problemText(problem, response.status));
  }
  useEffect(() => void load(), [props.tick]);
  async function add(e: SubmitEvent) {
    e.preventDefault();
    setError(null);
    const name = who.trim();
    const item = name.includes("@") ? { email: name, role } : { username: name, role };
    const { data, error: problem, response } = await api.POST("/api/events/{id}/share", { params: path, body: { users: [item] } });
    if (!data) return setError(problemText(problem, response.status));
    setList(data);
    setWho("");
  }
  async function change(userId: number, next: Role) {
    setError(null);
    const { error: problem, response } = await api.PUT("/api/events/{id}/permissions/{userId}", { params: { path: { id: props.id, userId } }, body: { role: next } });
    if (!response.ok) setError(problemText(problem, response.status));
    await load();
  }
  async function remove(userId: number) {
    setError(null);
    const { error: problem, response } = await api.DELETE("/api/events/{id}/permissions/{userId}", { params: { path: { id: props.id, userId } } });
    if (!response.ok) setError(problemText(problem, response.status));
    await load();
  }
  return (
    <Modal title="Share" onClose={props.onClose}>
      <form onSubmit={add} class="row end">
        <Field label="Username or email">{(id) => <input id={id} required value={who} onInput={(e) => setWho(e.currentTarget.value)} />}</Field>
        <Field label="Role">
          {(id) => (
            <select id={id} value={role} onChange={(e) => setRole(e.currentTarget.value as Role)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          )}
        </Field>
        <button type="submit" class="primary">
          Add
        </button>
      </form>
      <ErrorText text={error} />
      <h3>People with access</h3>
      <ul class="people" aria-label="People with access">
        {(list ?? []).map((p, i) => (
          <li key={p.user_id}>
            <span class="name">{p.username}</span>
            {i === 0 ? (
              <span class="muted">owner (creator)</span>
            ) : (
              <>
                <select aria-label={`Role of ${p.username}`} value={p.role} onChange={(e) => void change(p.user_id, e.currentTarget.value as Role)}>
                  {ROLES.map((r) => (
                    <option key={r}>{r}</option>
                  ))}
                </select>
                <button type="button" aria-label={`Remove ${p.username}`} onClick={() => void remove(p.user_id)}>
                  Remove
                </button>
              </>
            )}
          </li>
        ))}
      </ul>
    </Modal>
  );
}

export function HistoryDialog(props: { id: number; zone: string; tick: number; onClose: () => void; onChanged: () => void }) {
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [role, setRole] = useState<Role | null>(null);
  const [from, setFrom] = useState(0);
  const [to, setTo] = useState(0);
  const [diff, setDiff] = useState<Changes | null>(null);
  const [error, setError] = useState<string | null>(null);
  const path = { path: { id: props.id } };
  async function load() {
    const [log, event] = await Promise.all([api.GET("/api/events/{id}/changelog", { params: { ...path, query: { limit: 100 } } }), api.GET("/api/events/{id}", { params: path })]);
    if (!log.data) return setError(problemText(log.error, log.response.status));
    setEntries(log.data.items);
    if (event.data) setRole(event.data.my_role);
    const last = log.data.items.at(-1)?.version ?? 1;
    setTo((t) => (t === 0 ? last : t));
    setFrom((f) => (f === 0 ? Math.max(1, last - 1) : f));
  }
  useEffect(() => void load(), [props.tick]);
  useEffect(() => {
    if (!from || !to) return;
    void api.GET("/api/events/{id}/diff/{v1}/{v2}", { params: { path: { id: props.id, v1: from, v2: to } } }).then(({ data }) => setDiff(data ? data.changes : null));
  }, [from, to, props.tick]);
  async function rollback(version: number) {
    setError(null);
    const { data, error: problem, response } = await api.POST("/api/events/{id}/rollback/{version}", { params: { path: { id: props.id, version } } });
    if (!data) return setError(problemText(problem, response.status));
    props.onChanged();
    await load();
  }
  const canEdit = role === "owner" || role === "editor";
  const latest = entries?.at(-1)?.version;
  const versions = (entries ?? []).map((e) => e.version);
  return (
    <Modal title="History" onClose={props.onClose} wide>
      <ErrorText text={error} />
      <ol class="changelog" aria-label="Changelog">
        {(entries ?? []).map((e) => (
          <li key={e.version}>
            <div class="entry-head">
              <strong>v{e.version}</strong> {e.action === "created" ? "created" : e.action === "rolled_back" ? `rolled back to v${e.restored_from}` : "updated"} by <strong class="by">{e.changed_by.username}</strong>, <time dateTime={e.changed_at}>{dateTimeOf(e.changed_at, props.zone)}</time>
              {canEdit && e.version !== latest ? (
                <button type="button" onClick={() => void rollback(e.version)}>
                  Roll back to v{e.version}
                </button>
              ) : null}
            </div>
            {e.action !== "created" ? <p class="what">{Object.entries(e.changes).map(([f, c]) => `${f}: ${value(c.from)} → ${value(c.to)}`).join("; ") || "no field changed"}</p> : null}
          </li>
        ))}
      </ol>
      <h3>Compare versions</h3>
      <div class="row">
        <VersionSelect label="From version" versions={versions} value={from} onChange={setFrom} />
        <VersionSelect label="To version" versions={versions} value={to} onChange={setTo} />
      </div>
      {diff ? <ChangeList changes={diff} /> : null}
    </Modal>
  );
}

export function NotificationsDialog(props: { zone: string; live: Notification[]; onUnread: (n: number) => void; onClose: () => void; onOpen: (id: number) => void }) {
  const [items, setItems] = useState<Notification[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  async function load() {
    const { data, error: problem, response } = await api.GET("/api/notifications", { params: { query: { limit: 50 } } });
    if (!data) return setError(problemText(problem, response.status));
    setItems(data.items);
    props.onUnread(data.unread_count);
  }
  useEffect(() => void load(), [props.live]);
  async function read(id: number | null) {
    const { error: problem, response } = id === null ? await api.POST("/api/notifications/read-all") : await api.POST("/api/notifications/{id}/read", { params: { path: { id } } });
    if (!response.ok) setError(problemText(problem, response.status));
    await load();
  }
  const unread = (items ?? []).filter((n) => !n.is_read).length;
  return (
    <Modal title="Notifications" onClose={props.onClose} wide>
      <p class="row">
        <span>{unread} unread</span>
        <button type="button" onClick={() => void read(null)} disabled={!unread}>
          Mark all read
        </button>
      </p>
      <ErrorText text={error} />
      <ul class="notifications" aria-label="Notifications">
        {(items ?? []).map((n) => (
          <li key={n.id} class={n.is_read ? "read" : "unread"}>
            <p>
              {n.is_read ? null : <span class="sr-only">Unread: </span>}
              {n.message}
            </p>
            {n.data.changes && typeof n.data.changes === "object" ? (
              <p class="what">
                {Object.entries(n.data.changes as Changes)
                  .map(([f, c]) => `${f}: ${value(c.from)} → ${value(c.to)}`)
                  .join("; ")}
              </p>
            ) : null}
            <small>
              {n.actor.username}, <time dateTime={n.created_at}>{dateTimeOf(n.created_at, props.zone)}</time>
            </small>
            <span class="row">
              {n.event_id !== null && n.type !== "event_deleted" && n.type !== "permission_revoked" ? (
                <button type="button" class="link" onClick={() => props.onOpen(n.event_id!)}>
                  Open event
                </button>
              ) : null}
              {n.is_read ? null : (
                <button type="button" onClick={() => void read(n.id)}>
                  Mark read
                </button>
              )}
            </span>
          </li>
        ))}
      </ul>
      {items && !items.length ? <p class="muted">Nothing yet.</p> : null}
    </Modal>
  );
}

export function FeedsDialog(props: { zone: string; onClose: () => void }) {
  const [feeds, setFeeds] = useState<Schemas["Feed"][]>([]);
  const [created, setCreated] = useState<Schemas["FeedWithUrl"] | null>(null);
  const [name, setName] = useState("My calendar");
  const [copied, setCopied] = useState(false);
  const [error, setError] = useState<string | null>(null);
  async function load() {
    const { data } = await api.GET("/api/feeds");
    if (data) setFeeds(data.items);
  }
  useEffect(() => void load(), []);
  async function create(e: SubmitEvent) {
    e.preventDefault();
    setError(null);
    const { data, error: problem, response } = await api.POST("/api/feeds", { body: { name } });
    if (!data) return setError(problemText(problem, response.status));
    setCreated(data);
    setCopied(false);
    await load();
  }
  async function copy() {
    if (!created) return;
    try {
      await navigator.clipboard.writeText(created.url);
      setCopied(true);
    } catch {
      setError("The browser refused the clipboard; select the URL and copy it.");
    }
  }
  return (
    <Modal title="Calendar feeds" onClose={props.onClose}>
      <p class="muted">A subscription URL lets Apple Calendar, Google Calendar, Outlook or Thunderbird show your events. Anyone with the URL can read them.</p>
      <form onSubmit={create} class="row end">
        <Field label="Feed name">{(id) => <input id={id} value={name} maxLength={100} onInput={(e) => setName(e.currentTarget.value)} />}</Field>
        <button type="submit" class="primary">
          Create subscription URL
        </button>
      </form>
      <ErrorText text={error} />
      {created ? (
        <div class="row end">
          <Field label="Subscription URL">{(id) => <input id={id} readOnly value={created.url} onFocus={(e) => e.currentTarget.select()} />}</Field>
          <button type="button" onClick={() => void copy()}>
            {copied ? "Copied" : "Copy"}
          </button>
        </div>
      ) : null}
      {feeds.length ? (
        <>
          <h3>Your feeds</h3>
          <ul>
            {feeds.map((f) => (
              <li key={f.id}>
                {f.name}, created {dateTimeOf(f.created_at, props.zone)}
                {f.last_fetched_at ? `, last read ${dateTimeOf(f.last_fetched_at, props.zone)}` : ", never read yet"}
              </li>
            ))}
          </ul>
        </>
      ) : null}
    </Modal>
  );
}

/** One end of the History dialog's comparison: a labelled choice of the event's versions. */
function VersionSelect(props: { label: string; versions: number[]; value: number; onChange: (version: number) => void }) {
  return (
    <Field label={props.label}>
      {(id) => (
        <select id={id} value={props.value} onChange={(e) => props.onChange(Number(e.currentTarget.value))}>
          {props.versions.map((v) => (
            <option key={v} value={v}>
              v{v}
            </option>
          ))}
        </select>
      )}
    </Field>
  );
}
