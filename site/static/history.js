// Opens a signed history link (/history#<token>). The token is in the URL fragment, which the
// browser never sends, so it is in no request log and no Referer; this script sends it in the
// Authorization header instead and shows the page the API renders. The page's own links are signed
// links to /history too: following one changes only the fragment, so `hashchange` loads it.
"use strict";

function showMessage(title, detail) {
  const body = document.createElement("body");
  const heading = document.createElement("h1");
  heading.textContent = title;
  const text = document.createElement("p");
  text.id = "history-status";
  text.textContent = detail;
  body.append(heading, text);
  document.title = title;
  document.body.replaceWith(body);
}

async function load() {
  const token = decodeURIComponent(location.hash.slice(1));
  if (!token) {
    showMessage("No history link", "Open this page from an html_url given by the changelog, history or diff API.");
    return;
  }
  let response;
  try {
    response = await fetch("/api/history-view", { headers: { Authorization: `HistoryLink ${token}`, Accept: "text/html" }, cache: "no-store", referrerPolicy: "no-referrer" });
  } catch (error) {
    showMessage("History unavailable", `The server could not be reached (${error.message}).`);
    return;
  }
  const text = await response.text();
  if (!response.ok) {
    let detail = `The server answered ${response.status}.`;
    try {
      detail = JSON.parse(text).detail ?? detail;
    } catch {}
    showMessage(response.status === 404 ? "Not found" : "This link does not work", detail);
    return;
  }
  // The server escapes every value and sends no script; a parsed document runs none either.
  const page = new DOMParser().parseFromString(text, "text/html");
  document.title = page.title;
  document.body.replaceWith(document.adoptNode(page.body));
  window.scrollTo(0, 0);
}

window.addEventListener("hashchange", load);
load();
