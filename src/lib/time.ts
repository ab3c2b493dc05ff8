/** ISO 8601 in UTC with `Z`, without milliseconds unless there are some. */
export const formatUtc = (epochMs: number) => new Date(epochMs).toISOString().replace(".000Z", "Z");
