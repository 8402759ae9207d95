// The operator console: the event's header (state, a live clock in the event's time zone,
// the time since it started), recognition's and the videos' progress with an estimate of
// the time left, the cameras as tiles (the newest segment's picture, health and lag as a
// colour and in words) and the visitors as cards (their video's poster, one menu of
// actions), live from the console's server-sent events feed (live.js, which reconnects).
// Start / end write the event's markers (and trigger its DAG run); re-render / delete /
// "not this person" act on one visitor; kiosks are paired (their link shown once, as a QR
// code) and revoked. The operator's cookie (or Airflow's) goes with each request. Texts
// come from the page, in its language; times are the event's, relative ones kept current.
(function () {
  "use strict";
  const main = document.getElementById("console");
  const api = main.dataset.api;
  const root = main.dataset.root;
  const lang = main.dataset.lang;
  const t = JSON.parse(document.getElementById("console-texts").textContent);
  const message = document.getElementById("message");
  const live = document.getElementById("live");
  const cameraGrid = document.getElementById("cameras");
  const visitorGrid = document.getElementById("visitors");
  const template = (id) => document.getElementById(id).content.firstElementChild;
  const openMoments = new Set();  // visitors whose moments are unfolded, kept across updates
  const locale = lang === "zh" ? "zh-CN" : "en";
  let zone = "UTC";  // the event's, from the feed
  let latest = null;  // the last state the feed sent

  // "{n} min ago": a text of the page with its blanks filled in.
  const fill = (text, values) => text.replace(/\{(\w+)\}/g, (_, name) => values[name]);

  function inZone(options) {
    try {
      return new Intl.DateTimeFormat(locale, { ...options, timeZone: zone });
    } catch (error) {  // a zone this browser does not know: UTC, said so by the label
      return new Intl.DateTimeFormat(locale, { ...options, timeZone: "UTC" });
    }
  }
  const when = (iso) => (iso ? inZone({ dateStyle: "medium", timeStyle: "medium" })
    .format(new Date(iso)) : "–");
  const clockTime = (date) => inZone({ hour: "2-digit", minute: "2-digit", second: "2-digit",
    hourCycle: "h23" }).format(date);
  const clock = (iso) => (iso ? clockTime(new Date(iso)) : "–");

  // A length of time in words: "40 s", "12 min", "2 h 5 min".
  function duration(seconds) {
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return fill(t.console_duration_s, { n: s });
    if (s < 3600) return fill(t.console_duration_min, { n: Math.floor(s / 60) });
    return fill(t.console_duration_h, { h: Math.floor(s / 3600), m: Math.floor(s % 3600 / 60) });
  }

  // How long ago, in words; a time a little ahead (another clock) is "just now".
  function ago(iso, now) {
    const s = Math.floor((now - new Date(iso).getTime()) / 1000);
    if (s < 5) return t.console_just_now;
    if (s < 60) return fill(t.console_seconds_ago, { n: s });
    if (s < 3600) return fill(t.console_minutes_ago, { n: Math.floor(s / 60) });
    if (s < 86400) return fill(t.console_hours_ago, { n: Math.floor(s / 3600) });
    return fill(t.console_days_ago, { n: Math.floor(s / 86400) });
  }

  // A clock's "1:02:03".
  function elapsed(seconds) {
    const s = Math.max(0, Math.floor(seconds));
    const two = (n) => String(n).padStart(2, "0");
    return Math.floor(s / 3600) + ":" + two(Math.floor(s % 3600 / 60)) + ":" + two(s % 60);
  }

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

  // The elements of `items` in `list`, in order: each key's element is kept from one
  // update to the next (its picture is not loaded again, its menu stays open), new ones
  // made, gone ones removed.
  function keyed(list, items, keyOf, make, update) {
    const kept = new Map([...list.children].map((element) => [element.dataset.key, element]));
    items.forEach((item, index) => {
      const key = keyOf(item);
      let element = kept.get(key);
      if (!element) {
        element = make(item);
        element.dataset.key = key;
      }
      kept.delete(key);
      update(element, item);
      if (list.children[index] !== element) list.insertBefore(element, list.children[index] || null);
    });
    kept.forEach((element) => element.remove());
  }

  // A picture that may not be there: shown once it loaded, else the words beside it.
  function showPicture(img, src, missing) {
    if (!src) {
      img.removeAttribute("src");
      img.hidden = true;
      missing.hidden = false;
      return;
    }
    if (img.getAttribute("src") === src) return;
    img.onload = () => { img.hidden = false; missing.hidden = true; };
    img.onerror = () => { img.hidden = true; missing.hidden = false; };
    img.src = src;
  }

  // What a tile says of its camera's health: the reason, in words, for its colour.
  // "offline" counts the time since the last segment live (data-since, see tick()).
  function health(camera, state) {
    const h = camera.health;
    const lag = duration(h.lag_s);
    switch (state) {
      case "recording":
        return camera.behind ? fill(t.console_health_behind, { n: h.lag_segments, lag })
          : fill(t.console_health_live, { lag });
      case "offline":
        return h.last_segment_end ? { since: h.last_segment_end, text: t.console_health_offline }
          : t.console_health_offline_never;
      case "uploaded":
        return fill(t.console_health_uploaded, { n: h.lag_segments });
      default:
        return t["console_health_" + state] || state;
    }
  }

  function makeCamera() {
    return template("camera-tile").cloneNode(true);
  }

  function updateCamera(tile, camera) {
    const h = camera.health;
    // No report from `scas ingest`: footage that arrived another way (an upload, a
    // replay), or a configured camera that sent none.
    const state = camera.state || (h.segments_pushed > 0 ? "uploaded" : "never");
    tile.dataset.camera = camera.camera_id;
    tile.dataset.state = state;
    tile.dataset.level = camera.level;
    tile.dataset.behind = camera.behind ? "1" : "";
    tile.querySelector(".camera").textContent = camera.camera_id;
    const stateBadge = tile.querySelector(".state");
    stateBadge.textContent = t["camera_" + state] || state;
    stateBadge.className = "state camera-" + state;
    const said = health(camera, state);
    const reason = tile.querySelector(".health");
    if (typeof said === "string") {
      delete reason.dataset.since;
      reason.textContent = said;
    } else {
      reason.dataset.since = said.since;
      reason.dataset.template = said.text;
    }
    reason.title = h.detail || "";
    const recognized = h.segments_pushed - h.lag_segments;
    tile.querySelector(".arrived").textContent =
      recognized + " / " + h.segments_pushed + " " + t.console_recognized;
    tile.querySelector(".lag").textContent =
      h.lag_segments + " " + t.console_segments + " · " + Math.round(h.lag_s) + " s";
    const last = tile.querySelector(".last");
    last.textContent = clock(h.last_segment_end);
    last.dateTime = h.last_segment_end || "";
    const lastAgo = tile.querySelector(".last-ago");
    if (h.last_segment_end) lastAgo.dataset.ago = h.last_segment_end;
    else delete lastAgo.dataset.ago;
    const img = tile.querySelector(".thumbnail");
    img.alt = camera.camera_id + " · " + t.console_last_segment;
    showPicture(img, h.last_segment_key ? api + "/cameras/" + camera.camera_id +
      "/thumbnail?segment=" + encodeURIComponent(h.last_segment_key) : null,
      tile.querySelector(".no-thumbnail"));
    const watch = tile.querySelector(".live");  // only for a camera with a url to watch
    watch.hidden = !camera.watchable;
    watch.href = root + "/console/live/" + camera.camera_id + "?event=" +
      main.dataset.event + "&lang=" + lang;
    const link = tile.querySelector(".playback");
    link.hidden = !h.last_segment_end;
    if (h.last_segment_end) {
      // The last five minutes of footage up to the newest segment.
      const end = new Date(h.last_segment_end);
      const start = new Date(end.getTime() - 5 * 60 * 1000);
      link.href = root + "/playback/" + main.dataset.event + "/" + camera.camera_id +
        "?start=" + encodeURIComponent(start.toISOString()) + "&end=" +
        encodeURIComponent(end.toISOString()) + "&lang=" + lang;
    }
  }

  function showCameras(cameras) {
    document.getElementById("no-cameras").hidden = cameras.length > 0;
    cameraGrid.hidden = cameras.length === 0;
    keyed(cameraGrid, cameras, (camera) => camera.camera_id, makeCamera, updateCamera);
  }

  // Progress and the time left, from the rate measured while this page watched: how much
  // got done over the last few minutes (the feed's numbers, sampled as they came).
  const RATE_WINDOW_MS = 5 * 60 * 1000;
  const samples = { recognition: [], videos: [] };
  function estimate(kind, done, total, now) {
    const seen = samples[kind];
    if (seen.length && seen[seen.length - 1].done > done) seen.length = 0;  // re-done: anew
    seen.push({ at: now, done });
    while (seen.length > 2 && now - seen[1].at > RATE_WINDOW_MS) seen.shift();
    if (total > 0 && done >= total) return t.console_eta_done;
    const first = seen[0];
    const rate = (done - first.done) / ((now - first.at) / 1000);  // per second
    if (!(rate > 0) || now - first.at < 5000) return t.console_eta_unknown;
    return duration((total - done) / rate);
  }

  function showProgress(kind, done, total, words, now) {
    const row = document.getElementById("row-" + kind);
    const bar = document.getElementById("progress-" + kind);
    bar.max = Math.max(total, 1);
    bar.value = done;
    row.dataset.done = done;
    row.dataset.total = total;
    row.querySelector(".done-of").textContent = words;
    row.querySelector(".eta").textContent = estimate(kind, done, total, now);
  }

  // The event as the operator knows it: its markers say it ran or ended before the
  // catalog's status (written by the DAG) catches up; "done" once its videos are out.
  function shownStatus(state) {
    if (state.status === "done") return "done";
    if (state.ended || state.status === "ended") return "ended";
    if (state.started_at || state.status === "running") return "running";
    return state.status;
  }

  function makeVisitor() {
    const card = template("visitor-card").cloneNode(true);
    const menu = card.querySelector(".menu");
    // Escape closes the menu and gives the focus back to its button; choosing an item
    // closes it too.
    menu.addEventListener("keydown", (event) => {
      if (event.key !== "Escape" || !menu.open) return;
      menu.open = false;
      menu.querySelector("summary").focus();
    });
    menu.querySelectorAll(".menu-items button").forEach((item) => {
      item.addEventListener("click", () => { menu.open = false; });
    });
    const visitorId = () => card.dataset.visitor;
    const name = () => card.querySelector(".name").textContent;
    card.querySelector(".rerender").addEventListener("click", () => act(
      "POST", "/visitors/" + visitorId() + "/render?template=" +
      encodeURIComponent(document.getElementById("template").value)));
    card.querySelector(".moments").addEventListener("click", () => {
      const list = card.querySelector(".moment-list");
      if (openMoments.has(visitorId())) {
        openMoments.delete(visitorId());
        list.hidden = true;
      } else {
        openMoments.add(visitorId());
        list.hidden = false;
        listMoments(visitorId(), name(), list);
      }
    });
    card.querySelector(".delete").addEventListener("click", () => {
      if (confirm(name() + ": " + t.console_confirm_delete)) {
        act("DELETE", "/visitors/" + visitorId());
      }
    });
    return card;
  }

  function updateVisitor(card, visitor) {
    const changed = card.dataset.seenAs !== JSON.stringify(visitor);
    card.dataset.seenAs = JSON.stringify(visitor);
    card.dataset.visitor = visitor.id;
    card.querySelector(".name").textContent = visitor.display_name;
    card.querySelector(".menu summary").setAttribute(
      "aria-label", fill(t.console_menu, { name: visitor.display_name }));
    const state = card.querySelector(".state");
    state.textContent = t["console_video_" + visitor.state] || visitor.state;
    state.className = "state video-" + visitor.state;
    state.dataset.state = visitor.state;
    const seen = card.querySelector(".seen");
    seen.replaceChildren();
    if (visitor.tracks) {
      const lastSeen = document.createElement("span");
      lastSeen.dataset.ago = visitor.last_seen;
      lastSeen.title = when(visitor.first_seen) + " – " + when(visitor.last_seen);
      seen.append(visitor.cameras.join(", ") + " · " + t.console_last_seen + " ", lastSeen);
    } else {
      seen.textContent = t.console_not_seen_yet;
    }
    const poster = card.querySelector(".poster");
    poster.alt = visitor.display_name;
    showPicture(poster, visitor.poster_path ? root + visitor.poster_path : null,
      card.querySelector(".no-poster"));
    // Unfolded moments follow what changed (a re-render, a correction).
    const list = card.querySelector(".moment-list");
    list.hidden = !openMoments.has(visitor.id);
    if (changed && !list.hidden) listMoments(visitor.id, visitor.display_name, list);
  }

  function show(state) {
    latest = state;
    zone = state.timezone || "UTC";
    document.getElementById("clock-zone").textContent = "(" + zone + ")";
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
    const now = Date.now();
    const r = state.recognition;
    showProgress("recognition", r.recognized, r.arrived,
      fill(t.console_progress_segments, { done: r.recognized, total: r.arrived }), now);
    const v = state.videos;
    showProgress("videos", v.done, v.planned,
      fill(t.console_progress_planned, { done: v.done, total: v.planned }) +
      (v.failed ? " · " + fill(t.console_progress_failed, { n: v.failed }) : ""), now);
    showCameras(state.cameras);
    keyed(visitorGrid, state.visitors, (visitor) => visitor.id, makeVisitor, updateVisitor);
    tick();
  }

  // Each second: the clock, the time since the start, and every relative time.
  function tick() {
    const now = Date.now();
    document.getElementById("clock").textContent = clockTime(new Date(now));
    document.getElementById("clock").dateTime = new Date(now).toISOString();
    if (latest && latest.started_at) {
      const began = new Date(latest.started_at).getTime();
      const until = latest.ended && latest.ended_at ? new Date(latest.ended_at).getTime() : now;
      document.getElementById("elapsed").textContent = elapsed((until - began) / 1000);
    }
    document.querySelectorAll("#console [data-ago]").forEach((element) => {
      element.textContent = ago(element.dataset.ago, now);
    });
    document.querySelectorAll("#console [data-since]").forEach((element) => {
      const since = (now - new Date(element.dataset.since).getTime()) / 1000;
      element.textContent = fill(element.dataset.template, { age: duration(since) });
    });
  }

  async function listMoments(visitorId, name, list) {
    // A visitor's moments, each with "not this person" (which re-renders their video).
    const moments = await call("GET", "/visitors/" + visitorId + "/moments").catch(() => []);
    list.replaceChildren(...moments.map((moment) => {
      const item = template("moment-item").cloneNode(true);
      // One time format: the clock, to the second, in the event's zone.
      item.querySelector(".when").textContent =
        moment.camera_id + " · " + clock(moment.start_time) + " – " + clock(moment.end_time);
      const clip = item.querySelector(".moment-clip");
      clip.setAttribute("aria-label", item.querySelector(".when").textContent);
      window.scasMomentClip(clip,
        api + "/cameras/" + moment.camera_id + "/playback", moment.start_time, moment.end_time);
      showExpressions(item.querySelector(".expressions"), moment.expressions);
      item.querySelector(".not-this-person").addEventListener("click", () => {
        if (!confirm(name + ": " + t.console_confirm_not_this)) return;
        act("POST", "/visitors/" + visitorId + "/not-this-person?template=" +
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
  // Each tick just after the second turns: the clock shows each second as it starts.
  (function everySecond() {
    tick();
    setTimeout(everySecond, 1000 - (Date.now() % 1000) + 20);
  })();
  listKiosks();
})();
