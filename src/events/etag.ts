/**
 * Entity tags of `GET /api/events/{id}` and the conditional requests that use them (RFC 9110
 * §8.8.3, §13.1). A tag is strong and covers everything the body shows: the content (through the
 * version), the permission list and the caller's `my_role`; so a share, a role change or a
 * revocation changes it for everyone who reads the event. JSON and MessagePack are different
 * representations, so their tags differ too (a strong tag names one sequence of bytes).
 */

export type Variant = "json" | "msgpack";

/** An entity tag, as `"..."` on the wire. */
export interface EntityTag {
  weak: boolean;
  opaque: string;
}

/** A parsed If-Match or If-None-Match value: `*`, a list of tags, or nothing usable. */
export type TagCondition = { any: true } | { any: false; tags: EntityTag[] };

const encoder = new TextEncoder();

function base64url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

/**
 * The tags of one state of an event for one reader, in both formats: the version, readable for
 * debugging, then 96 bits of SHA-256 over the rendered detail body.
 *
 * @example
 * const tags = await eventTags({ ...toEventBody(row, role), permissions });
 * c.header("ETag", tags.json);
 */
export async function eventTags(detail: { version: number; permissions: unknown[] }): Promise<Record<Variant, string>> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(JSON.stringify(detail))));
  const opaque = `${detail.version}-${base64url(digest.subarray(0, 12))}`;
  return { json: `"${opaque}"`, msgpack: `"${opaque}-m"` };
}

// RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
const TAG = /^(W\/)?"([\x21\x23-\x7e\x80-\xff]*)"$/;

/**
 * Parses `*` or a comma-separated list of entity tags. Members that are not entity tags (a bare
 * `3`, garbage) are skipped, so they never match anything; a header with none left matches nothing.
 */
export function parseTagCondition(header: string): TagCondition {
  if (header.trim() === "*") return { any: true };
  const tags: EntityTag[] = [];
  for (const member of header.split(",")) {
    const match = TAG.exec(member.trim());
    if (match) tags.push({ weak: match[1] !== undefined, opaque: match[2] });
  }
  return { any: false, tags };
}

const opaqueOf = (tag: string) => tag.slice(1, -1);

/**
 * If-Match (RFC 9110 §13.1.1) with strong comparison: `*` holds for any current representation, a
 * weak tag never matches, and a strong one matches either format's tag of the current state.
 */
export function ifMatchHolds(header: string, current: Record<Variant, string>): boolean {
  const condition = parseTagCondition(header);
  if (condition.any) return true;
  const currentOpaques = [opaqueOf(current.json), opaqueOf(current.msgpack)];
  return condition.tags.some((tag) => !tag.weak && currentOpaques.includes(tag.opaque));
}

/**
 * If-None-Match (RFC 9110 §13.1.2) with weak comparison: true when the listed tags include the
 * selected representation's (or `*`), i.e. when the answer is 304 for a GET.
 */
export function noneMatchFails(header: string, current: string): boolean {
  const condition = parseTagCondition(header);
  if (condition.any) return true;
  return condition.tags.some((tag) => tag.opaque === opaqueOf(current));
}
