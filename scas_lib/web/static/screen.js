// The big screen: plays the event's finished videos, newest first, in a loop; a video
// published meanwhile plays next. The playlist comes from the server-sent events feed
// (live.js, which reconnects). One <video> element
// is reused, so a day of playing keeps the same few objects alive. A portrait screen plays
// a video's vertical cut where its template made one; else the whole 16:9 picture, never
// cropped, over a blurred fill of its poster (scas.css: the QR code is beside the picture).
(function () {
  "use strict";
  const main = document.getElementById("screen");
  const idle = document.getElementById("idle");
  const show = document.getElementById("show");
  const video = document.getElementById("video");
  const nameLine = document.getElementById("visitor-name");
  const qr = document.getElementById("qr");
  const fill = document.getElementById("fill");
  const root = main.dataset.root;
  const portrait = window.matchMedia("(orientation: portrait)");

  let playlist = [];          // newest first, as the server sends it
  let played = new Set();     // keys played in this round of the loop
  let current = null;         // the entry on screen
  const key = (entry) => entry.visitor_id + "@" + entry.updated_at;

  function nextEntry() {
    // The newest not played in this round; when all are played, a new round.
    let entry = playlist.find((e) => !played.has(key(e)));
    if (!entry && playlist.length) {
      played = new Set();
      entry = playlist[0];
    }
    return entry || null;
  }

  function showIdle() {
    current = null;
    main.dataset.playing = "";
    main.dataset.cut = "";
    video.removeAttribute("src");
    video.load();  // lets go of the last video's buffers
    show.hidden = true;
    idle.hidden = false;
  }

  function play(entry) {
    current = entry;
    played.add(key(entry));
    main.dataset.playing = entry.visitor_id;
    nameLine.textContent = entry.display_name;
    qr.src = entry.qr_svg;
    qr.dataset.url = entry.page_url;
    // The code's symbol keeps one width whatever the link's length (scas.css, .screen-qr).
    qr.style.setProperty("--qr-modules", entry.qr_modules);
    qr.style.setProperty("--qr-image-modules", entry.qr_image_modules);
    const vertical = portrait.matches && entry.vertical_path;
    main.dataset.cut = vertical ? "vertical" : "wide";
    video.poster = root + entry.poster_path;
    fill.src = root + entry.poster_path;
    video.src = root + (vertical ? entry.vertical_path : entry.video_path);
    idle.hidden = true;
    show.hidden = false;
    const started = video.play();
    if (started) started.catch(() => {});  // autoplay refused: the poster stays
  }

  function advance() {
    const entry = nextEntry();
    if (entry) play(entry); else showIdle();
  }

  video.addEventListener("ended", advance);
  // A screen turned on its side: the same video again, in the cut for its new shape.
  portrait.addEventListener("change", () => { if (current) play(current); });
  video.addEventListener("error", () => setTimeout(advance, 2000));

  function update(list) {
    playlist = list;
    const keys = new Set(list.map(key));
    played = new Set([...played].filter((k) => keys.has(k)));
    if (current && !keys.has(key(current))) {
      advance();  // deleted or re-rendered: not shown any longer
    } else if (!current) {
      advance();
    }
  }

  window.scasLive(main.dataset.stream, "playlist", update);
})();
