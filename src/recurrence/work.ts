/**
 * Expansion work, counted in steps: one per period of a rule visited (a day, week, month or year),
 * one per candidate day computed in it, one per occurrence turned into an instant. Steps do not
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
 * Steps a write may spend checking one rule: its first occurrence and the end to store. 50,000 is
 * above every rule we know people use (FREQ=DAILY;COUNT=5000 takes 10,003; Friday the 13th with
 * COUNT=5000, 39,894) and takes about 10 ms here; the sparsest COUNT rules (Friday the 13th every
 * 15th day, COUNT=5000: 111,499) are refused.
 */
export const RULE_BUDGET = 50_000;

/**
 * Steps one write may spend comparing its events with the owner's others (and a batch's items
 * with each other). Two endless daily series cost about 4,400 over the two-year horizon; a one-off
 * against any series a few.
 */
export const CONFLICT_BUDGET = 200_000;
