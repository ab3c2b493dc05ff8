import { describe, expect, it } from "vitest";
import { BATCH_RULE_BUDGET, expansionWork, RULE_BUDGET } from "../src/recurrence";
import { expectProblem, json, registerUser } from "./helpers";

const DAYS = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"];
/** A rule every single create accepts: Friday-the-13th-like, COUNT=5000 from 1900, about 70,000 steps to check. */
const heavyItem = (i: number) => ({
  title: `Heavy ${i}`,
  start_time: `1900-01-01T${String(i % 24).padStart(2, "0")}:00:00Z`,
  end_time: `1900-01-01T${String(i % 24).padStart(2, "0")}:10:00Z`,
  is_recurring: true,
  recurrence_pattern: `FREQ=MONTHLY;BYMONTHDAY=${1 + (i % 28)};BYDAY=${DAYS[i % 7]};COUNT=5000`,
});

describe("a batch of rules each within the per-rule budget", () => {
  it(`spends at most ${BATCH_RULE_BUDGET} steps checking a batch's rules, and names the items past it with 422`, async () => {
    const user = await registerUser("advbatch");
    expect((await json("POST", "/api/events", { token: user.token, body: heavyItem(0) })).status).toBe(201);
    const before = expansionWork();
    const res = await json("POST", "/api/events/batch", { token: user.token, body: Array.from({ length: 100 }, (_, i) => heavyItem(i + 1)) });
    // Every rule's check may pass its own cap by one charge before it stops.
    expect(expansionWork() - before).toBeLessThanOrEqual(BATCH_RULE_BUDGET + RULE_BUDGET);
    expectProblem(res, 422, "validation_failed");
    const named = res.body.errors.filter((e: { field: string }) => e.field.endsWith("recurrence_pattern"));
    expect(named.length).toBeGreaterThan(60);
    expect(named[0].message).toContain(`${BATCH_RULE_BUDGET}`);
    expect(named.every((e: { field: string; index: number }) => e.field === `events.${e.index}.recurrence_pattern`)).toBe(true);
  });

  it("still creates a batch of ordinary rules, and a heavy rule alone", async () => {
    const user = await registerUser("advbatchok");
    const body = Array.from({ length: 100 }, (_, i) => ({
      title: `Weekly ${i}`,
      start_time: `2044-01-01T00:00:00Z`.replace("01T00", `${String(1 + (i % 28)).padStart(2, "0")}T${String(i % 24).padStart(2, "0")}`),
      end_time: `2044-01-01T00:10:00Z`.replace("01T00", `${String(1 + (i % 28)).padStart(2, "0")}T${String(i % 24).padStart(2, "0")}`),
      is_recurring: true,
      recurrence_pattern: "FREQ=YEARLY;COUNT=50",
    }));
    const res = await json("POST", "/api/events/batch", { token: user.token, body });
    expect(res.status).toBe(201);
    expect(res.body).toHaveLength(100);
    expect((await json("POST", "/api/events/batch", { token: user.token, body: [heavyItem(5)] })).status).toBe(201);
  });
});
