import { validationFailed } from "./problem";

/** The earliest instant the API accepts or stores: 1900-01-01T00:00:00Z. */
export const EARLIEST_INSTANT = Date.UTC(1900, 0, 1);
/** The latest: 9999-12-31T23:59:59.999Z, so every stored instant formats as a four-digit year and parses back. */
export const LATEST_INSTANT = Date.UTC(9999, 11, 31, 23, 59, 59, 999);
export const TIME_RANGE_MESSAGE = "Must lie between 1900-01-01T00:00:00Z and 9999-12-31T23:59:59Z once converted to UTC.";

export const isSupportedInstant = (ms: number) => ms >= EARLIEST_INSTANT && ms <= LATEST_INSTANT;

/**
 * The instant itself, or a 422 naming `field` when it lies outside the supported range.
 *
 * @example
 * assertSupportedInstant(Date.parse("10000-01-01T04:00:00Z"), "end_time"); // throws 422
 */
export function assertSupportedInstant(ms: number, field: string): number {
  if (!isSupportedInstant(ms)) throw validationFailed([{ field, message: TIME_RANGE_MESSAGE }]);
  return ms;
}
