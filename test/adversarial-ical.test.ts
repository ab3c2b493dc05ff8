import { beforeAll, describe, expect, it } from "vitest";
import { MAX_IMPORT_COMPONENTS, MAX_IMPORT_DEPTH } from "../src/ical/read";
import { json, registerUser, type TestUser } from "./helpers";

const ics = (...lines: string[]) => ["BEGIN:VCALENDAR", "VERSION:2.0", "PRODID:-//test//EN", ...lines, "END:VCALENDAR"].join("\r\n") + "\r\n";
/** A content line folded (RFC 5545 3.1) right after its first three characters: the same line once unfolded. */
const folded = (line: string) => `${line.slice(0, 3)}\r\n ${line.slice(3)}`;

async function importAs(user: TestUser, body: string) {
  return json("POST", "/api/events/import", { token: user.token, body, headers: { "Content-Type": "text/calendar; charset=utf-8" } });
}

let user: TestUser;
beforeAll(async () => {
  user = await registerUser("adv_ical");
});

describe("import: the shape limits hold for folded BEGIN lines", () => {
  it("refuses a file nesting folded BEGINs deeper than the limit with 422, as it does unfolded ones", async () => {
    const depth = MAX_IMPORT_DEPTH + 2;
    const body = ics(
      "BEGIN:VEVENT", "UID:deep", "DTSTART:20380101T090000Z", "DTEND:20380101T100000Z", "SUMMARY:deep",
      ...Array.from({ length: depth }, () => folded("BEGIN:X-NEST")),
      ...Array.from({ length: depth }, () => "END:X-NEST"),
      "END:VEVENT",
    );
    const res = await importAs(user, body);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "body", message: `Components may nest at most ${MAX_IMPORT_DEPTH} levels deep.` }]);
  });

  it("refuses a file with more folded components than the limit with 422 (not one warning per alarm)", async () => {
    const body = ics(
      "BEGIN:VEVENT", "UID:many", "DTSTART:20380102T090000Z", "DTEND:20380102T100000Z", "SUMMARY:many",
      ...Array.from({ length: MAX_IMPORT_COMPONENTS + 10 }, () => [folded("BEGIN:VALARM"), "END:VALARM"]).flat(),
      "END:VEVENT",
    );
    const res = await importAs(user, body);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "body", message: `A file may hold at most ${MAX_IMPORT_COMPONENTS} components.` }]);
  });

  it("counts BEGIN lines with parameters (BEGIN;X=1:VALARM), which ical.js also opens as components", async () => {
    const body = ics(
      "BEGIN:VEVENT", "UID:params", "DTSTART:20380103T090000Z", "DTEND:20380103T100000Z", "SUMMARY:params",
      ...Array.from({ length: MAX_IMPORT_DEPTH + 2 }, () => "BEGIN;X-A=1:X-NEST"),
      ...Array.from({ length: MAX_IMPORT_DEPTH + 2 }, () => "END;X-A=1:X-NEST"),
      "END:VEVENT",
    );
    const res = await importAs(user, body);
    expect(res.status, JSON.stringify(res.body).slice(0, 300)).toBe(422);
    expect(res.body.errors).toEqual([{ field: "body", message: `Components may nest at most ${MAX_IMPORT_DEPTH} levels deep.` }]);
  });

  it("counts 101 VEVENTs whose BEGIN lines are folded: 422, nothing created", async () => {
    const body = ics(...Array.from({ length: 101 }, (_, i) => [folded("BEGIN:VEVENT"), `UID:f${i}`, `DTSTART:20390101T${String(i % 24).padStart(2, "0")}0000Z`, "DURATION:PT1M", `SUMMARY:f${i}`, "END:VEVENT"]).flat());
    const res = await importAs(user, body);
    expect(res.status).toBe(422);
    const list = await json("GET", "/api/events?q=f100", { token: user.token });
    expect(list.body.items).toEqual([]);
  });
});
