// The analyses page: upload a video, follow its progress (server-sent events), play the
// annotated result, download it and its JSON; the operator's history, deletable.
(() => {
  "use strict";
  const main = document.getElementById("analyses");
  const api = main.dataset.api;
  const t = JSON.parse(document.getElementById("analyses-texts").textContent);
  const $ = (id) => document.getElementById(id);
  let feed = null;

  const say = (text) => { $("message").textContent = text; };

  function describe(progress) {
    if (progress.phase === "failed") return t.analyses_failed + ": " + (progress.error || "");
    const eta = progress.eta_s == null || progress.phase === "done" ? "" : " · " + t.analyses_eta + " " + Math.ceil(progress.eta_s) + " s";
    return t["analyses_phase_" + progress.phase] + " · " + Math.round(progress.percent) + "% · " +
      progress.frames_done + " " + t.analyses_frames + " · " + progress.faces_found + " " +
      t.analyses_faces + eta;
  }

  function show(entry) {
    // The analysis in the player card: its progress until it is done, then the video.
    if (feed) feed.close();
    $("current").hidden = false;
    $("current-name").textContent = entry.name;
    $("player").hidden = true;
    $("downloads").hidden = true;
    const update = (progress) => {
      $("progress-bar").value = progress.percent;
      $("progress-text").textContent = describe(progress);
      $("progress-text").dataset.phase = progress.phase;
      if (progress.phase === "done") ready(entry);
      if (progress.phase === "done" || progress.phase === "failed") {
        if (feed) feed.close();
        listHistory();
      }
    };
    update(entry.progress);
    if (entry.progress.phase === "done" || entry.progress.phase === "failed") return;
    feed = new EventSource(api + "/" + entry.id + "/progress");
    feed.addEventListener("progress", (event) => update(JSON.parse(event.data)));
  }

  function ready(entry) {
    const base = api + "/" + entry.id;
    // HLS where the browser plays it (Chromium does, natively), else the MP4 itself.
    const hls = $("player").canPlayType("application/vnd.apple.mpegurl") !== "";
    $("player").src = base + (hls ? "/hls/index.m3u8" : "/video");
    $("player").hidden = false;
    $("download-video").href = base + "/video";
    $("download-json").href = base + "/json";
    $("downloads").hidden = false;
  }

  async function listHistory() {
    const answer = await fetch(api, { credentials: "same-origin" });
    const entries = answer.ok ? await answer.json() : [];
    $("history").replaceChildren(...entries.map((entry) => {
      const item = document.getElementById("history-item").content.firstElementChild.cloneNode(true);
      item.dataset.analysis = entry.id;
      item.dataset.phase = entry.progress.phase;
      const people = entry.people.length ? " · " + entry.people.join(", ") : "";
      item.querySelector(".label").textContent = entry.name + " · " +
        new Date(entry.created_at).toLocaleString() + " · " + describe(entry.progress) + people;
      const thumbnail = item.querySelector(".thumbnail");
      if (entry.progress.phase === "done") thumbnail.src = api + "/" + entry.id + "/thumbnail";
      else thumbnail.hidden = true;
      item.querySelector(".open").addEventListener("click", () => show(entry));
      item.querySelector(".delete").addEventListener("click", async () => {
        if (!confirm(entry.name + ": " + t.analyses_confirm_delete)) return;
        await fetch(api + "/" + entry.id, { method: "DELETE", credentials: "same-origin" });
        if ($("current-name").textContent === entry.name) $("current").hidden = true;
        listHistory();
      });
      return item;
    }));
  }

  $("upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new FormData();
    body.append("file", $("file").files[0]);
    if ($("event").value) body.append("event", $("event").value);
    say(t.analyses_uploading);
    const answer = await fetch(api, { method: "POST", body, credentials: "same-origin" });
    const reply = await answer.json();
    if (!answer.ok) { say(reply.message || answer.statusText); return; }
    say("");
    show(reply);
    listHistory();
  });

  listHistory();
})();
