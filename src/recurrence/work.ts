/**
 * Expansion work, counted in steps: one per period of a rule visited (a day, week, month or year),
 * one per candidate day computed or tested in it, one per occurrence turned into an instant. Steps do not
 * depend on the machine, so budgets and tests can be stated in them.
 */
export class WorkBudget {
  used = 0;
  constructor(readonly limit: number) {}
}

/** Thrown by an expansion that would pass its budget; callers turn it into a 422. */
export class BudgetExceeded extends Error {
  constructor(readonly budget: WorkBudget) {
    super(`Recurrence expansion passed its budget of ${budget.limit} steps.`);
  }
}

let total = 0;

/** Charges `steps` to the budget (if any) and to the isolate-wide counter that tests read. */
export function spend(budget: WorkBudget | undefined, steps: number): void {
  total += steps;
  if (budget && (budget.used += steps) > budget.limit) throw new BudgetExceeded(budget);
}

/**
 * Steps spent by every expansion in this isolate so far. Tests read it before and after a call to
 * see the work the call did, whatever the machine's speed.
 *
 * @example const before = expansionWork(); occurrencesBetween(spec, a, b); expansionWork() - before
 */
export const expansionWork = () => total;

/**
 * Steps a write may spend checking one rule: its first occurrence and the end to store. 100,000
 * (about 20 to 40 ms here) is above every rule we know people use: FREQ=DAILY;COUNT=5000 takes
 * 10,003 steps, and Friday the 13th with COUNT=5000 from 1900 (2,900 years of months) 69,785.
 * Sparser or longer-listed ones are refused: Friday the 13th on every 15th day with COUNT=5000
 * needs 195,041, and a YEARLY rule listing all 62 BYMONTHDAY values with BYDAY=53MO,-53SU and
 * COUNT=5000 over six million.
 */
export const RULE_BUDGET = 100_000;

/**
 * Steps a batch may spend checking all of its rules together, each still within RULE_BUDGET:
 * otherwise 100 rules just under the cap cost a hundred single creates in one request (measured:
 * 7.2 million steps, about 0.5 s here). Twenty rules at the cap fit (nineteen Friday-the-13th
 * series with COUNT=5000 from 1900 take 1.33 million), or 100 of FREQ=DAILY;COUNT=5000; items past
 * it are a 422 naming their `recurrence_pattern`.
 */
export const BATCH_RULE_BUDGET = 2_000_000;

/**
 * Steps one write may spend comparing its events with the owner's others (and a batch's items
 * with each other): about 140 ms of CPU here (7.2 million steps took 0.5 s). Two endless daily
 * series cost about 4,400 over the two-year horizon, two weeklies about 400, a one-off against any
 * series a few; so a new series fits beside 450 endless dailies, but a batch of 100 series beside
 * hundreds of others does not (send such series in smaller batches). 200,000 refused a calendar
 * of 100 weeklies created in one batch, which the first release accepted.
 */
export const CONFLICT_BUDGET = 2_000_000;
