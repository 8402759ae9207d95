// A moment on the console's visitor card as a thumbnail that plays (issue 42), so that
// "Not this person" is never decided blind: the camera's stored segment (a presigned link
// from the playback API, played as stored) from the moment's start, muted; it plays while
// the pointer or the keyboard is on it (or on a click) and loops over the moment.
(function () {
  "use strict";
  window.scasMomentClip = async function (video, playbackUrl, startIso, endIso) {
    const start = new Date(startIso), end = new Date(endIso);
    // The playback API wants end after start: a one-frame moment asks for a second.
    const until = new Date(Math.max(end.getTime(), start.getTime() + 1000));
    const query = "?start=" + encodeURIComponent(start.toISOString()) +
      "&end=" + encodeURIComponent(until.toISOString());
    const answer = await fetch(playbackUrl + query, { credentials: "same-origin" })
      .catch(() => null);
    const segment = answer && answer.ok ? (await answer.json()).segments[0] : null;
    if (!segment) { video.hidden = true; return; }
    const first = new Date(segment.start_time).getTime();
    const from = Math.max(0, (start.getTime() - first) / 1000);
    const to = Math.max(from + 0.5, Math.min(segment.duration_s || Infinity,
      (until.getTime() - first) / 1000));
    video.dataset.from = from.toFixed(2);
    video.dataset.to = to.toFixed(2);
    video.src = segment.url + "#t=" + from.toFixed(2) + "," + to.toFixed(2);
    video.addEventListener("timeupdate", () => {
      if (video.currentTime >= to || video.currentTime < from - 0.5) video.currentTime = from;
    });
    const play = () => { const started = video.play(); if (started) started.catch(() => {}); };
    const pause = () => video.pause();
    video.addEventListener("mouseenter", play);
    video.addEventListener("mouseleave", pause);
    video.addEventListener("focus", play);
    video.addEventListener("blur", pause);
    video.addEventListener("click", () => (video.paused ? play() : pause()));
  };
})();
