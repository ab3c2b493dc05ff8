import type { MiddlewareHandler } from "hono";

/**
 * The security headers every response carries: the set hono/secure-headers sends by default
 * (which this list replaced; Cross-Origin-Embedder-Policy stays off there too, since the docs pages
 * load nothing cross-origin that would need it), plus our Content-Security-Policy. The list is
 * fixed, so it is one constant: the library's option merging, nonce and Permissions-Policy
 * builders were 0.7 KB of the gzip bundle for nothing we use. test/errors.test.ts pins every value.
 */
export const SECURITY_HEADERS: readonly (readonly [name: string, value: string])[] = [
  ["Cross-Origin-Resource-Policy", "same-origin"],
  ["Cross-Origin-Opener-Policy", "same-origin"],
  ["Origin-Agent-Cluster", "?1"],
  ["Referrer-Policy", "no-referrer"],
  ["Strict-Transport-Security", "max-age=15552000; includeSubDomains"],
  ["X-Content-Type-Options", "nosniff"],
  ["X-DNS-Prefetch-Control", "off"],
  ["X-Download-Options", "noopen"],
  ["X-Frame-Options", "SAMEORIGIN"],
  ["X-Permitted-Cross-Domain-Policies", "none"],
  ["X-XSS-Protection", "0"],
  // The docs pages and the web app load their own scripts from this origin and nothing from elsewhere.
  ["Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'self'"],
];

export const securityHeaders: MiddlewareHandler = async function securityHeaders(c, next) {
  await next();
  for (const [name, value] of SECURITY_HEADERS) c.res.headers.set(name, value);
  c.res.headers.delete("X-Powered-By");
};
