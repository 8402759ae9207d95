// Playback of a camera: its segments played one after the other as stored (presigned
// links, nothing re-encoded), with a canvas over the video on which each face track that
// recognition stored is drawn at the time of its samples: its box, and its visitor's name
// (a stranger's box has none). What is drawn is kept in window.scasOverlay (the tests
// read it back).
//
// A segment's timestamps rarely start at 0 (a camera's clock runs on; the browser's
// currentTime is the frame's own timestamp), while a sample's offset_s counts from the
// segment's first frame: the boxes follow the frame on screen (requestVideoFrameCallback's
// mediaTime) minus the first frame's. The first frame's is the element's clock while it
// stands on that frame, before it plays: a busy browser's frame callbacks may skip the
// first frames of a segment (a CI run's did, two frames: every box 80 ms late).
(function () {
  "use strict";
  const main = document.getElementById("playback");
  const t = JSON.parse(document.getElementById("playback-texts").textContent);
  const video = document.getElementById("video");
  const canvas = document.getElementById("overlay");
  const context = canvas.getContext("2d");
  const clock = document.getElementById("clock");
  const locale = main.dataset.lang === "zh" ? "zh-CN" : "en";
  // A track's first and last box are drawn this long before and after their time (half
  // the interval of recognition's 5 frames a second); between two samples the box moves
  // from one to the other, unless they are further apart than GAP_S (the face was not
  // found in between).
  const HOLD_S = 0.1;
  const GAP_S = 0.5;

  let segments = [];
  let current = -1;
  let firstFrame = null;  // media time of the segment's first frame
  let shownFrame = null;  // media time of the frame on screen
  window.scasOverlay = { segment: -1, key: null, time: 0, mediaTime: 0, boxes: [], drawn: 0 };

  function watchFrames() {
    video.requestVideoFrameCallback((now, frame) => {
      shownFrame = frame.mediaTime;
      watchFrames();
    });
  }
  if (video.requestVideoFrameCallback) watchFrames();  // else the element's clock is used
  // A new segment stands on its first frame: its time is the segment's zero; then it plays.
  video.addEventListener("loadeddata", () => {
    firstFrame = video.currentTime;
    const started = video.play();
    if (started) started.catch(() => {});  // autoplay refused: the controls are there
  });

  function boxAt(track, time) {
    // The track's box at ``time`` (seconds from the segment's first frame), or null.
    const samples = track.samples;
    if (!samples.length || time < samples[0].offset_s - HOLD_S ||
        time > samples[samples.length - 1].offset_s + HOLD_S) return null;
    let after = samples.findIndex((s) => s.offset_s >= time);
    if (after === -1) return samples[samples.length - 1].box;
    if (after === 0) return samples[0].box;
    const a = samples[after - 1];
    const b = samples[after];
    if (b.offset_s - a.offset_s > GAP_S && time - a.offset_s > HOLD_S &&
        b.offset_s - time > HOLD_S) return null;
    const k = (time - a.offset_s) / (b.offset_s - a.offset_s || 1);
    return a.box.map((value, i) => value + (b.box[i] - value) * k);
  }

  function draw() {
    const segment = segments[current];
    const width = video.clientWidth;
    const height = video.clientHeight;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    context.clearRect(0, 0, width, height);
    const boxes = [];
    const media = video.requestVideoFrameCallback ? shownFrame : video.currentTime;
    if (segment && video.videoWidth && firstFrame !== null && media !== null) {
      // The picture inside the element (object-fit: contain leaves bars).
      const scale = Math.min(width / video.videoWidth, height / video.videoHeight);
      const left = (width - video.videoWidth * scale) / 2;
      const top = (height - video.videoHeight * scale) / 2;
      const time = media - firstFrame;  // seconds from the segment's first frame
      context.lineWidth = 3;
      context.font = "600 16px system-ui, 'Noto Sans CJK SC', sans-serif";
      for (const track of segment.tracks) {
        const box = boxAt(track, time);
        if (!box) continue;
        // Stored boxes are in the original frame's pixels.
        const sx = (track.frame_width ? video.videoWidth / track.frame_width : 1) * scale;
        const sy = (track.frame_height ? video.videoHeight / track.frame_height : 1) * scale;
        const x = left + box[0] * sx;
        const y = top + box[1] * sy;
        const w = (box[2] - box[0]) * sx;
        const h = (box[3] - box[1]) * sy;
        const known = Boolean(track.visitor_id);
        context.strokeStyle = known ? "#2ecc71" : "#f1c40f";
        context.strokeRect(x, y, w, h);
        if (known) {
          const label = track.display_name || track.visitor_id;
          const textWidth = context.measureText(label).width;
          context.fillStyle = "rgba(0, 0, 0, 0.65)";
          context.fillRect(x, y - 22, textWidth + 10, 22);
          context.fillStyle = "#fff";
          context.fillText(label, x + 5, y - 6);
        }
        boxes.push({ track: track.index, visitor_id: track.visitor_id,
                     name: track.display_name, box: box });
      }
      window.scasOverlay = { segment: current, key: segment.key, time: time, mediaTime: media,
                             boxes: boxes, drawn: window.scasOverlay.drawn + (boxes.length ? 1 : 0) };
      const at = new Date(new Date(segment.start_time).getTime() + time * 1000);
      clock.textContent = at.toLocaleString(locale);
    }
    requestAnimationFrame(draw);
  }

  function play(index) {
    current = index;
    firstFrame = null;
    shownFrame = null;
    const segment = segments[index];
    video.src = segment.url;
    document.querySelectorAll("#segments li").forEach((item, i) => {
      item.classList.toggle("current", i === index);
    });
  }

  video.addEventListener("ended", () => {
    if (current + 1 < segments.length) play(current + 1);
  });

  fetch(main.dataset.api, { credentials: "same-origin" })
    .then(async (answer) => {
      const body = await answer.json().catch(() => ({}));
      if (!answer.ok) throw new Error(body.message || answer.statusText);
      return body;
    })
    .then((playback) => {
      segments = playback.segments;
      document.getElementById("segment-count").textContent =
        segments.length + " " + t.console_segments;
      document.getElementById("segments").replaceChildren(...segments.map((segment, i) => {
        const item = document.createElement("li");
        const faces = [...new Set(segment.tracks.filter((track) => track.visitor_id)
          .map((track) => track.display_name || track.visitor_id))];
        item.textContent = new Date(segment.start_time).toLocaleTimeString(locale) +
          " (" + Math.round(segment.duration_s) + " s)" + (faces.length ? " · " + faces.join(", ") : "");
        item.addEventListener("click", () => play(i));
        return item;
      }));
      if (segments.length) play(0);
      requestAnimationFrame(draw);
    })
    .catch((error) => {
      document.getElementById("message").textContent = error.message;
    });
})();
