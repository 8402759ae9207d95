// The operator console: the event's state, counts and visitors, refreshed every few
// seconds from the console API; start / end write the event's markers; re-render and
// delete act on one visitor. The operator's cookie (or Airflow's) goes with each request.
(function () {
  "use strict";
  const main = document.getElementById("console");
  const api = main.dataset.api;
  const message = document.getElementById("message");
  const rows = document.querySelector("#visitors tbody");
  const rowTemplate = document.getElementById("visitor-row");
  const REFRESH_MS = 3000;

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

  async function call(method, path) {
    const answer = await fetch(api + path, { method, credentials: "same-origin" });
    const body = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(body.message || answer.statusText);
    return body;
  }

  function show(state) {
    document.getElementById("event-status").textContent = state.status + (state.ended ? " (ended)" : "");
    document.getElementById("started-at").textContent = when(state.started_at);
    document.getElementById("ended-at").textContent = when(state.ended_at);
    document.getElementById("count-enrolled").textContent = state.counts.visitors_enrolled;
    document.getElementById("count-seen").textContent = state.counts.visitors_seen;
    document.getElementById("count-ready").textContent = state.counts.videos_ready;
    rows.replaceChildren(...state.visitors.map((visitor) => {
      const row = rowTemplate.content.firstElementChild.cloneNode(true);
      row.dataset.visitor = visitor.id;
      row.querySelector(".name").textContent = visitor.display_name;
      row.querySelector(".state").textContent = visitor.state;
      row.querySelector(".seen").textContent = visitor.tracks
        ? visitor.cameras.join(", ") + " · " + when(visitor.first_seen) + " – " + when(visitor.last_seen)
        : "–";
      row.querySelector(".rerender").addEventListener("click", () => act(
        "POST", "/visitors/" + visitor.id + "/render?template=" +
        encodeURIComponent(document.getElementById("template").value)));
      row.querySelector(".delete").addEventListener("click", () => {
        if (confirm(visitor.display_name + ": delete everywhere?")) act("DELETE", "/visitors/" + visitor.id);
      });
      return row;
    }));
  }

  async function refresh() {
    try {
      show(await call("GET", "/console"));
    } catch (error) {
      message.textContent = error.message;
    }
  }

  async function act(method, path) {
    message.textContent = "…";
    try {
      const done = await call(method, path);
      message.textContent = done.note || "OK";
    } catch (error) {
      message.textContent = error.message;
    }
    refresh();
  }

  document.getElementById("start").addEventListener("click", () => act("POST", "/start"));
  document.getElementById("end").addEventListener("click", () => act("POST", "/end"));
  refresh();
  setInterval(refresh, REFRESH_MS);
})();
