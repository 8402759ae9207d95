// The front door: anyone gets the visitor code box and a sign-in; a signed-in operator
// (the scas_operator cookie standalone, Airflow's login inside Airflow) also gets every
// event with its state and links to its console, kiosk pairing, big screen and playback.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const home = $("home");
  const root = home.dataset.root;
  const t = JSON.parse($("home-texts").textContent);
  const language = document.documentElement.lang.startsWith("zh") ? "zh" : "en";

  function link(text, path, className, fragment = "") {
    const a = document.createElement("a");
    a.textContent = text;
    a.href = path + "?lang=" + language + fragment;
    a.className = className;
    return a;
  }

  function row(event) {
    const tr = document.createElement("tr");
    tr.dataset.event = event.id;
    const name = document.createElement("td");
    const strong = document.createElement("strong");
    strong.textContent = event.name || event.id;
    name.append(strong, document.createElement("br"), event.id);
    const state = document.createElement("td");
    const badge = document.createElement("span");
    badge.className = "badge badge-" + event.status;
    badge.textContent = t["event_" + event.status] || event.status;
    state.append(badge);
    const visitors = document.createElement("td");
    visitors.textContent = event.visitors;
    const links = document.createElement("td");
    links.className = "links";
    const id = encodeURIComponent(event.id);
    links.append(
      link(t.home_console, root + "/console/" + id, "console"),
      link(t.console_pair, root + "/console/" + id, "kiosks", "#kiosks"),
      link(t.home_screen, root + "/screen/" + id, "screen"),
      link(t.console_playback, root + "/console/" + id, "playback", "#cameras"),
    );
    tr.append(name, state, visitors, links);
    return tr;
  }

  fetch(home.dataset.api, { headers: { Accept: "application/json" }, credentials: "same-origin" })
    .then((response) => (response.ok ? response.json() : null))
    .then((events) => {
      if (events === null) return; // not signed in: the visitor box and the sign-in stay
      const body = document.querySelector("#events tbody");
      body.replaceChildren(...events.map(row));
      $("no-events").hidden = events.length > 0;
      $("operator-events").hidden = false;
      $("sign-in").hidden = true;
    })
    .catch(() => { /* offline for a moment: the page still opens a visitor's page */ });
})();
