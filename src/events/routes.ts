import { createRouter } from "../lib/openapi";

export const eventRoutes = createRouter();
