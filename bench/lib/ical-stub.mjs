// Stands in for each iCalendar library (bench/lib/bundle.mjs builds the Worker with it aliased in
// to measure what the libraries cost). It only has to bundle, never to run: it exports every name
// src/ical imports from them.
const stub = () => {
  throw new Error("bench/lib/ical-stub.mjs is a size-measuring stand-in");
};
export default stub;
export const escape = stub;
export const formatDate = stub;
export const ICalCalendarMethod = {};
export const tzlib_get_ical_block = stub;
export const tzlib_get_timezones = stub;
