import { createApp } from "./app";

export { UserNotificationHub } from "./notifications/hub";

const app = createApp();

export default {
  fetch: (request, env, ctx) => app.fetch(request, env, ctx),
} satisfies ExportedHandler<Env>;
