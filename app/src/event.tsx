import { useEffect, useMemo, useRef, useState } from "preact/hooks";
import { etagOf, ifMatch, type EventDetail, type Schemas } from "../../sdk/index";
import { api, problemText } from "./api";
import { fromInput, slotOf, toInput, zones } from "./time";
import { ErrorText, Field, Modal } from "./ui";

type Conflict = Schemas["Conflict"];
type Slot = Schemas["TimeSlot"];
type Event = Schemas["Event"];

export const PRESETS: [label: string, rule: string][] = [
  ["Does not repeat", ""],
  ["Every day", "FREQ=DAILY"],
  ["Every weekday", "FREQ=WEEKLY;BYDAY=MO,TU,WE,TH,FR"],
  ["Every week", "FREQ=WEEKLY"],
  ["Every month", "FREQ=MONTHLY"],
  ["Every year", "FREQ=YEARLY"],
  ["Custom rule", "custom"],
];

interface Form {
  title: string;
  start: string;
  end: string;
  timezone: string;
  location: string;
  description: string;
  rrule: string;
}

const formOf = (e: Event): Form => ({
  title: e.title,
  start: toInput(e.start_time, e.timezone),
  end: toInput(e.end_time, e.timezone),
  timezone: e.timezone,
  location: e.location ?? "",
  description: e.description,
  rrule: e.is_recurring ? (e.recurrence_pattern ?? "") : "",
});

/** The fields of a form as the API writes them. */
function bodyOf(f: Form) {
  return {
    title: f.title.trim(),
    start_time: fromInput(f.start, f.timezone) ?? f.start,
    end_time: fromInput(f.end, f.timezone) ?? f.end,
    timezone: f.timezone,
    location: f.location.trim() || null,
    description: f.description,
    is_recurring: f.rrule.trim() !== "",
    recurrence_pattern: f.rrule.trim() || null,
  };
}
type Body = ReturnType<typeof bodyOf>;

/** The fields of `next` that differ from `base` (what an edit sends). */
function changed(base: Body, next: Body): Partial<Body> {
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(next) as (keyof Body)[]) if (next[key] !== base[key]) out[key] = next[key];
  return out as Partial<Body>;
}

const LABELS: Record<string, string> = { title: "Title", start_time: "Start", end_time: "End", timezone: "Time zone", location: "Location", description: "Description", recurrence_pattern: "Repeat", is_recurring: "Repeats" };
const show = (v: unknown) => (v === null || v === "" ? "(empty)" : String(v));

export interface EventDialogProps {
  id: number | null;
  /** For a new event: its start and end, ISO. */
  seed?: { start: string; end: string };
  zone: string;
  /** Bumped when a notification about this event arrives. */
  tick: number;
  onClose: () => void;
  onChanged: () => void;
  onShare: (id: number) => void;
  onHistory: (id: number) => void;
}

export function EventDialog(props: EventDialogProps) {
  const [event, setEvent] = useState<EventDetail | null>(null);
  const [etag, setEtag] = useState<string | null>(null);
  const [form, setForm] = useState<Form | null>(() =>
    props.id === null ? { title: "", start: toInput(props.seed!.start, props.zone), end: toInput(props.seed!.end, props.zone), timezone: props.zone, location: "", description: "", rrule: "" } : null,
  );
  const [dirty, setDirty] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [conflicts, setConflicts] = useState<{ conflicts: Conflict[]; suggestions: Slot[] } | null>(null);
  const [stale, setStale] = useState<{ current: Event; changes: [string, unknown, unknown][] } | null>(null);
  const [busy, setBusy] = useState(false);
  const [gone, setGone] = useState(false);
  const [custom, setCustom] = useState(false);
  const [role, setRole] = useState<Event["my_role"] | null>(props.id === null ? "owner" : null);
  const [meanwhile, setMeanwhile] = useState(false);
  const dirtyRef = useRef(dirty);
  dirtyRef.current = dirty;
  const allZones = useMemo(zones, []);

  async function load() {
    if (props.id === null) return;
    const { data, error: problem, response } = await api.GET("/api/events/{id}", { params: { path: { id: props.id } } });
    if (!data) {
      if (response.status === 404) setGone(true);
      else setError(problemText(problem, response.status));
      return;
    }
    setRole(data.my_role);
    // While the form has unsaved edits, its base version and ETag stay: saving then gets a 412
    // that shows what changed, rather than silently overwriting the other person's change.
    if (dirtyRef.current) return setMeanwhile(true);
    setEvent(data);
    setEtag(etagOf(response));
    const next = formOf(data);
    setForm(next);
    setCustom(next.rrule !== "" && !PRESETS.some(([, rule]) => rule === next.rrule));
  }
  useEffect(() => void load(), [props.id, props.tick]);

  const canEdit = role === "owner" || role === "editor";
  const isOwner = role === "owner";
  const edit = (patch: Partial<Form>) => {
    setForm((f) => (f ? { ...f, ...patch } : f));
    setDirty(true);
  };

  async function save(again?: { etag: string | null }) {
    if (!form) return;
    setBusy(true);
    setError(null);
    setConflicts(null);
    const body = bodyOf(form);
    try {
      if (props.id === null) {
        const { data, error: problem, response } = await api.POST("/api/events", { body });
        if (data) return done();
        return refused(problem, response.status);
      }
      // Only the fields this person changed, from the version the form started from; on a
      // re-apply the same fields go on top of the newer version (its ETag).
      const send = changed(bodyOf(formOf(event!)), body);
      if (!Object.keys(send).length) return done();
      const { data, error: problem, response } = await api.PATCH("/api/events/{id}", { params: { path: { id: props.id } }, body: send, headers: ifMatch(again ? again.etag : etag) });
      if (data) return done();
      return refused(problem, response.status);
    } catch (thrown) {
      setError(problemText(thrown));
    } finally {
      setBusy(false);
    }
  }

  function done() {
    setDirty(false);
    setMeanwhile(false);
    setStale(null);
    props.onChanged();
    props.onClose();
  }

  function refused(problem: unknown, status: number) {
    setError(problemText(problem, status));
    const p = problem as { conflicts?: Conflict[]; suggestions?: Slot[]; current?: Event };
    if (status === 409 && p?.conflicts) setConflicts({ conflicts: p.conflicts, suggestions: p.suggestions ?? [] });
    if (status === 412 && p?.current && event) {
      const before = bodyOf(formOf(event)) as Record<string, unknown>;
      const after = bodyOf(formOf(p.current)) as Record<string, unknown>;
      setStale({ current: p.current, changes: Object.keys(after).filter((k) => after[k] !== before[k]).map((k) => [k, before[k], after[k]]) });
    }
  }

  /** Applies my edits on top of the version someone else saved meanwhile. */
  async function reapply() {
    if (!stale || props.id === null) return;
    const { response } = await api.GET("/api/events/{id}", { params: { path: { id: props.id } } });
    await save({ etag: etagOf(response) });
  }

  async function remove() {
    if (props.id === null) return;
    setBusy(true);
    const { error: problem, response } = await api.DELETE("/api/events/{id}", { params: { path: { id: props.id } }, headers: ifMatch(etag) });
    setBusy(false);
    if (response.status === 204) return done();
    setError(problemText(problem, response.status));
  }

  const useSlot = (slot: Slot) => {
    if (!form) return;
    edit({ start: toInput(slot.start_time, form.timezone), end: toInput(slot.end_time, form.timezone) });
    setConflicts(null);
  };

  const title = props.id === null ? "New event" : event ? (canEdit ? `Edit “${event.title}”` : event.title) : "Event";
  const preset = form ? (custom ? "custom" : (PRESETS.find(([, r]) => r === form.rrule)?.[1] ?? "custom")) : "";
  return (
    <Modal title={title} onClose={props.onClose}>
      {gone ? (
        <p role="status">This event was deleted.</p>
      ) : !form ? (
        <p role="status">Loading…</p>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            void save();
          }}
        >
          {!canEdit && event ? <p class="note">You can view this event ({role}); only its owner and editors can change it.</p> : null}
          <Field label="Title">{(id) => <input id={id} autofocus required maxLength={200} value={form.title} readOnly={!canEdit} onInput={(e) => edit({ title: e.currentTarget.value })} />}</Field>
          <div class="row">
            <Field label="Start">{(id) => <input id={id} type="datetime-local" required value={form.start} readOnly={!canEdit} onInput={(e) => edit({ start: e.currentTarget.value })} />}</Field>
            <Field label="End">{(id) => <input id={id} type="datetime-local" required value={form.end} readOnly={!canEdit} onInput={(e) => edit({ end: e.currentTarget.value })} />}</Field>
          </div>
          <Field label="Time zone" hint={form.timezone !== props.zone ? `Your time zone is ${props.zone}.` : undefined}>
            {(id) => (
              <select id={id} value={form.timezone} disabled={!canEdit} onChange={(e) => edit({ timezone: e.currentTarget.value })}>
                {(allZones.includes(form.timezone) ? allZones : [form.timezone, ...allZones]).map((z) => (
                  <option key={z} value={z}>
                    {z}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field label="Location">{(id) => <input id={id} maxLength={500} value={form.location} readOnly={!canEdit} onInput={(e) => edit({ location: e.currentTarget.value })} />}</Field>
          <Field label="Description">{(id) => <textarea id={id} rows={3} maxLength={10000} value={form.description} readOnly={!canEdit} onInput={(e) => edit({ description: e.currentTarget.value })} />}</Field>
          <div class="row">
            <Field label="Repeat">
              {(id) => (
                <select
                  id={id}
                  value={preset}
                  disabled={!canEdit}
                  onChange={(e) => {
                    const rule = e.currentTarget.value;
                    setCustom(rule === "custom");
                    if (rule !== "custom") edit({ rrule: rule });
                  }}
                >
                  {PRESETS.map(([label, rule]) => (
                    <option key={rule} value={rule}>
                      {label}
                    </option>
                  ))}
                </select>
              )}
            </Field>
            <Field label="RRULE" hint="RFC 5545, e.g. FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10">
              {(id) => <input id={id} value={form.rrule} readOnly={!canEdit} spellcheck={false} onInput={(e) => (setCustom(true), edit({ rrule: e.currentTarget.value }))} />}
            </Field>
          </div>
          {meanwhile && !stale ? <p class="note" role="status">Someone else changed this event while you were editing it.</p> : null}
          <ErrorText text={error} />
          {conflicts ? (
            <div class="problem" aria-label="Conflicts">
              <p>It overlaps:</p>
              <ul>
                {conflicts.conflicts.map((c, i) => (
                  <li key={i}>
                    {c.title ? `“${c.title}”, ` : c.index !== undefined ? `item ${c.index + 1}, ` : ""}
                    <time dateTime={c.start_time}>{slotOf(c.start_time, c.end_time, props.zone)}</time>
                  </li>
                ))}
              </ul>
              {conflicts.suggestions.length ? (
                <>
                  <p>Free times:</p>
                  <ul class="chips">
                    {conflicts.suggestions.map((s, i) => (
                      <li key={i}>
                        <button type="button" onClick={() => useSlot(s)}>
                          Use {slotOf(s.start_time, s.end_time, props.zone)}
                        </button>
                      </li>
                    ))}
                  </ul>
                </>
              ) : null}
            </div>
          ) : null}
          {stale ? (
            <div class="problem" aria-label="Changed meanwhile">
              <p>Someone changed this event while you were editing:</p>
              <ul>
                {stale.changes.map(([field, from, to]) => (
                  <li key={field}>
                    {LABELS[field] ?? field}: {show(from)} → {show(to)}
                  </li>
                ))}
              </ul>
              <button type="button" onClick={() => void reapply()} disabled={busy}>
                Re-apply my changes
              </button>
            </div>
          ) : null}
          <footer class="actions">
            {canEdit ? (
              <button type="submit" class="primary" disabled={busy}>
                Save
              </button>
            ) : null}
            {props.id !== null && event ? (
              <>
                {isOwner ? (
                  <button type="button" onClick={() => props.onShare(props.id!)}>
                    Share
                  </button>
                ) : null}
                <button type="button" onClick={() => props.onHistory(props.id!)}>
                  History
                </button>
                {isOwner ? (
                  <button type="button" class="danger" onClick={() => void remove()} disabled={busy}>
                    Delete
                  </button>
                ) : null}
              </>
            ) : null}
          </footer>
        </form>
      )}
    </Modal>
  );
}
