// What zod's schema classes get for their JSON Schema processors in the Worker bundle (wrangler.toml
// [alias], keyed by the exact relative specifier zod/v4/classic/schemas.js imports; vitest and
// scripts/build-openapi.mjs do not apply it). Each class attaches a processor that only
// z.toJSONSchema() calls, and the document is built at build time, so in the Worker they are dead
// weight esbuild cannot see as dead: 5.6 KB of gzip. aggregateChecks is real runtime code (the
// .minLength, .format and .isInt getters read it), so it is the real one.
export { aggregateChecks } from "../../node_modules/zod/v4/core/json-schema-processors.js";

function builtAtBuildTime() {
  throw new Error("JSON Schema is built at build time (scripts/build-openapi.mjs), not in the Worker.");
}

export {
  builtAtBuildTime as toJSONSchema,
  builtAtBuildTime as anyProcessor,
  builtAtBuildTime as arrayProcessor,
  builtAtBuildTime as bigintProcessor,
  builtAtBuildTime as booleanProcessor,
  builtAtBuildTime as catchProcessor,
  builtAtBuildTime as customProcessor,
  builtAtBuildTime as dateProcessor,
  builtAtBuildTime as defaultProcessor,
  builtAtBuildTime as enumProcessor,
  builtAtBuildTime as fileProcessor,
  builtAtBuildTime as functionProcessor,
  builtAtBuildTime as intersectionProcessor,
  builtAtBuildTime as lazyProcessor,
  builtAtBuildTime as literalProcessor,
  builtAtBuildTime as mapProcessor,
  builtAtBuildTime as nanProcessor,
  builtAtBuildTime as neverProcessor,
  builtAtBuildTime as nonoptionalProcessor,
  builtAtBuildTime as nullProcessor,
  builtAtBuildTime as nullableProcessor,
  builtAtBuildTime as numberProcessor,
  builtAtBuildTime as objectProcessor,
  builtAtBuildTime as optionalProcessor,
  builtAtBuildTime as pipeProcessor,
  builtAtBuildTime as prefaultProcessor,
  builtAtBuildTime as promiseProcessor,
  builtAtBuildTime as readonlyProcessor,
  builtAtBuildTime as recordProcessor,
  builtAtBuildTime as setProcessor,
  builtAtBuildTime as stringProcessor,
  builtAtBuildTime as successProcessor,
  builtAtBuildTime as symbolProcessor,
  builtAtBuildTime as templateLiteralProcessor,
  builtAtBuildTime as transformProcessor,
  builtAtBuildTime as tupleProcessor,
  builtAtBuildTime as undefinedProcessor,
  builtAtBuildTime as unionProcessor,
  builtAtBuildTime as unknownProcessor,
  builtAtBuildTime as voidProcessor,
};

// Each schema's .toJSONSchema() and ~standard.jsonSchema (zod/v4/classic/schemas.js imports these
// from "../core/to-json-schema.js", aliased here too).
export const createToJSONSchemaMethod = () => builtAtBuildTime;
export const createStandardJSONSchemaMethod = () => builtAtBuildTime;
