// The operator console: the event's state, cameras, counts and visitors, live from the
// console's server-sent events feed (live.js, which reconnects); start / end write the
// event's markers (and trigger its DAG run), re-render / delete / "not this person" act
// on one visitor, kiosks are paired (their link shown once, as a QR code) and revoked.
// The operator's cookie (or Airflow's) goes with each request. Texts come from the page,
// in its language.
(function () {
  "use strict";
  const main = document.getElementById("console");
  const api = main.dataset.api;
  const root = main.dataset.root;
  const t = JSON.parse(document.getElementById("console-texts").textContent);
  const message = document.getElementById("message");
  const live = document.getElementById("live");
  const rows = document.querySelector("#visitors tbody");
  const cameraRows = document.querySelector("#cameras tbody");
  const template = (id) => document.getElementById(id).content.firstElementChild;
  const openMoments = new Set();  // visitors whose moments are unfolded, kept across updates
  const locale = main.dataset.lang === "zh" ? "zh-CN" : "en";

  const when = (iso) => (iso ? new Date(iso).toLocaleString(locale) : "–");
  const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString(locale) : "–");

  async function call(method, path, body, base) {
    const options = { method, credentials: "same-origin" };
    if (body) {
      options.headers = { "Content-Type": "application/json" };
      options.body = JSON.stringify(body);
    }
    const answer = await fetch((base || api) + path, options);
    const answered = await answer.json().catch(() => ({}));
    if (!answer.ok) throw new Error(answered.message || answer.statusText);
    return answered;
  }

  function showCameras(cameras, eventId) {
    document.getElementById("no-cameras").hidden = cameras.length > 0;
    document.getElementById("cameras").hidden = cameras.length === 0;
    cameraRows.replaceChildren(...cameras.map((camera) => {
      const row = template("camera-row").cloneNode(true);
      const health = camera.health;
      // No report from `scas ingest`: footage that arrived another way (an upload, a
      // replay), or a configured camera that sent none.
      const state = camera.state || (health.segments_pushed > 0 ? "uploaded" : "never");
      row.dataset.camera = camera.camera_id;
      row.dataset.state = state;
      row.dataset.behind = camera.behind ? "1" : "";
      row.querySelector(".camera").textContent = camera.camera_id;
      const stateCell = row.querySelector(".state");
      stateCell.textContent = t["camera_" + state] || state;
      stateCell.className = "state camera-" + state;
      if (health.detail) stateCell.title = health.detail;
      const recognized = health.segments_pushed - health.lag_segments;
      row.querySelector(".arrived").textContent =
        recognized + " / " + health.segments_pushed + " " + t.console_recognized;
      row.querySelector(".last").textContent = clock(health.last_segment_end);
      const lag = row.querySelector(".lag");
      lag.textContent = health.lag_segments + " " + t.console_segments + " · " +
        Math.round(health.lag_s) + " s";
      if (camera.behind) {
        lag.textContent += " ⚠ " + t.console_behind;
        lag.classList.add("warning");
      }
      row.querySelector(".live").href = root + "/console/live/" + camera.camera_id + "?event=" +
        eventId + "&lang=" + main.dataset.lang;
      const link = row.querySelector(".playback");
      if (health.last_segment_end) {
        // The last five minutes of footage up to the newest segment.
        const end = new Date(health.last_segment_end);
        const start = new Date(end.getTime() - 5 * 60 * 1000);
        link.href = root + "/playback/" + eventId + "/" + camera.camera_id + "?start=" +
          encodeURIComponent(start.toISOString()) + "&end=" + encodeURIComponent(end.toISOString()) +
          "&lang=" + main.dataset.lang;
      } else {
        link.hidden = true;
      }
      return row;
    }));
  }

  // The event as the operator knows it: its markers say it ran or ended before the
  // catalog's status (written by the DAG) catches up; "done" once its videos are out.
  function shownStatus(state) {
    if (state.status === "done") return "done";
    if (state.ended || state.status === "ended") return "ended";
    if (state.started_at || state.status === "running") return "running";
    return state.status;
  }

  function show(state) {
    const status = document.getElementById("event-status");
    const shown = shownStatus(state);
    status.dataset.status = shown;
    status.className = "badge badge-" + shown;
    status.textContent = t["event_" + shown] || shown;
    // Only the action that can come next: start before it runs, end while it runs.
    document.getElementById("start").hidden = shown !== "scheduled";
    document.getElementById("end").hidden = shown !== "running";
    document.getElementById("started-at").textContent = when(state.started_at);
    document.getElementById("ended-at").textContent = when(state.ended_at);
    document.getElementById("count-enrolled").textContent = state.counts.visitors_enrolled;
    document.getElementById("count-people").textContent = state.counts.people_seen;
    document.getElementById("count-seen").textContent = state.counts.visitors_seen;
    document.getElementById("count-ready").textContent = state.counts.videos_ready;
    showCameras(state.cameras, state.event_id);
    rows.replaceChildren(...state.visitors.map((visitor) => {
      const row = template("visitor-row").cloneNode(true);
      row.dataset.visitor = visitor.id;
      row.querySelector(".name").textContent = visitor.display_name;
      row.querySelector(".state").textContent = t["console_video_" + visitor.state] || visitor.state;
      row.querySelector(".state").dataset.state = visitor.state;
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
        if (confirm(visitor.display_name + ": " + t.console_confirm_delete)) {
          act("DELETE", "/visitors/" + visitor.id);
        }
      });
      return row;
    }));
  }

  async function listMoments(visitor, list) {
    // A visitor's moments, each with "not this person" (which re-renders their video).
    const moments = await call("GET", "/visitors/" + visitor.id + "/moments").catch(() => []);
    list.replaceChildren(...moments.map((moment) => {
      const item = template("moment-item").cloneNode(true);
      item.querySelector(".when").textContent =
        moment.camera_id + " · " + when(moment.start_time) + " – " + when(moment.end_time);
      showExpressions(item.querySelector(".expressions"), moment.expressions);
      item.querySelector(".not-this-person").addEventListener("click", () => {
        if (!confirm(visitor.display_name + ": " + t.console_confirm_not_this)) return;
        act("POST", "/visitors/" + visitor.id + "/not-this-person?template=" +
          encodeURIComponent(document.getElementById("template").value),
          { camera_id: moment.camera_id, start: moment.start_time, end: moment.end_time });
      });
      return item;
    }));
  }

  function showExpressions(strip, expressions) {
    // How the visitor looked through the moment: a mark per described face, in time order
    // (its expression as its title and colour), then the share of those faces that smile.
    if (!expressions.length) return;
    const marks = expressions.map((seen) => {
      const mark = document.createElement("span");
      const name = t["expression_" + seen.expression] || seen.expression;
      mark.className = "expression expression-" + seen.expression;
      mark.title = when(seen.time) + " · " + name;
      mark.textContent = name.slice(0, 1);
      return mark;
    });
    const smiling = expressions.filter((seen) => seen.smile >= 0.5).length;
    const share = document.createElement("span");
    share.className = "smile-share";
    share.textContent = t.console_smiles + " " + Math.round(100 * smiling / expressions.length) + "%";
    strip.replaceChildren(...marks, share);
  }

  async function act(method, path, body) {
    // The feed shows what changed; the answer's note says what was done.
    message.textContent = t.console_working;
    try {
      const done = await call(method, path, body);
      message.textContent = done.note || done.status || "OK";
    } catch (error) {
      message.textContent = error.message;
    }
  }

  // Kiosks: the event's, revoked ones marked; a new one's pairing link as a QR code.
  const kioskApi = api.replace(/\/events\/[^/]+$/, "");
  async function listKiosks() {
    const kiosks = await call("GET", "/kiosks").catch(() => []);
    document.getElementById("kiosks").replaceChildren(...kiosks.map((kiosk) => {
      const item = template("kiosk-item").cloneNode(true);
      item.dataset.kiosk = kiosk.id;
      item.querySelector(".label").textContent = kiosk.label || kiosk.id;
      item.querySelector(".since").textContent = when(kiosk.created_at) +
        (kiosk.revoked_at ? " · " + t.console_revoked : "");
      const revoke = item.querySelector(".revoke");
      revoke.hidden = Boolean(kiosk.revoked_at);
      revoke.addEventListener("click", async () => {
        await call("DELETE", "/kiosks/" + kiosk.id, null, kioskApi).catch((e) => {
          message.textContent = e.message;
        });
        listKiosks();
      });
      return item;
    }));
  }
  document.getElementById("pair").addEventListener("click", async () => {
    const label = document.getElementById("kiosk-label").value.trim();
    try {
      const paired = await call("POST", "/kiosks?label=" + encodeURIComponent(label));
      const qr = document.getElementById("pairing-qr");
      qr.src = paired.qr_svg;
      qr.dataset.url = paired.pairing_url;
      const link = document.getElementById("pairing-link");
      link.href = paired.pairing_url;
      link.textContent = paired.kiosk.label || paired.kiosk.id;
      document.getElementById("pairing").hidden = false;
    } catch (error) {
      message.textContent = error.message;
    }
    listKiosks();
  });

  document.getElementById("start").addEventListener("click", () => act("POST", "/start"));
  document.getElementById("end").addEventListener("click", () => act("POST", "/end"));
  window.scasLive(api + "/console/stream", "console", show, (connected) => {
    live.dataset.live = connected ? "1" : "";
    live.textContent = connected ? t.console_live : t.console_reconnecting;
  });
  listKiosks();
})();
