// Swagger UI's start-up, served as a file, not inline, so /docs works under a strict script policy too.
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  persistAuthorization: true,
  // The default badge is an image from validator.swagger.io: a third-party request from our page.
  validatorUrl: null,
  oauth2RedirectUrl: location.origin + "/static/swagger-ui/oauth2-redirect.html",
  presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
  layout: "StandaloneLayout",
});
