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
  const momentTemplate = document.getElementById("moment-item");
  const openMoments = new Set();  // visitors whose moments are unfolded, kept across refreshes
  const REFRESH_MS = 3000;

  const when = (iso) => (iso ? new Date(iso).toLocaleString() : "–");

  async function call(method, path, body) {
    const options = { method, credentials: "same-origin" };
    if (body) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const answer = await fetch(api + path, options);
    const answered = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(answered.message || answer.statusText);
    return answered;
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
      const list = row.querySelector(".moment-list");
      const unfold = () => {
        list.hidden = false;
        listMoments(visitor, list);
      };
      row.querySelector(".moments").addEventListener("click", () => {
        if (openMoments.has(visitor.id)) {
          openMoments.delete(visitor.id);
          list.hidden = true;
        } else {
          openMoments.add(visitor.id);
          unfold();
        }
      });
      if (openMoments.has(visitor.id)) unfold();
      row.querySelector(".delete").addEventListener("click", () => {
        if (confirm(visitor.display_name + ": delete everywhere?")) act("DELETE", "/visitors/" + visitor.id);
      });
      return row;
    }));
  }

  async function listMoments(visitor, list) {
    // A visitor's moments, each with "not this person" (which re-renders their video).
    const moments = await call("GET", "/visitors/" + visitor.id + "/moments").catch(() => []);
    list.replaceChildren(...moments.map((moment) => {
      const item = momentTemplate.content.firstElementChild.cloneNode(true);
      item.querySelector(".when").textContent =
        moment.camera_id + " · " + when(moment.start_time) + " – " + when(moment.end_time);
      item.querySelector(".not-this-person").addEventListener("click", () => {
        if (!confirm(visitor.display_name + ": not this person?")) return;
        act("POST", "/visitors/" + visitor.id + "/not-this-person?template=" +
          encodeURIComponent(document.getElementById("template").value),
          { camera_id: moment.camera_id, start: moment.start_time, end: moment.end_time });
      });
      return item;
    }));
  }

  async function refresh() {
    try {
      show(await call("GET", "/console"));
    } catch (error) {
      message.textContent = error.message;
    }
  }

  async function act(method, path, body) {
    message.textContent = "…";
    try {
      const done = await call(method, path, body);
      message.textContent = done.note || done.status || "OK";
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
