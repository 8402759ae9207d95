// A camera live (scas_lib/web/live.py): reads the multipart stream of the camera's JPEG
// frames and its analysed faces (JSON) with fetch, draws the newest frame on the canvas
// and the newest faces over it, as the annotated videos draw them (a box, and a caption
// above it: green for a visitor, yellow for someone unknown). Frames that come while one
// is being drawn are skipped, never queued: the picture stays as close to the camera as
// the network allows. window.scasLiveStats says what was received and drawn (the tests
// read it); window.scasLiveHook(context, frame), if set, is called after each frame is
// drawn and before its faces.
(function () {
  "use strict";
  const main = document.getElementById("live");
  const canvas = document.getElementById("picture");
  const context = canvas.getContext("2d");
  const t = JSON.parse(document.getElementById("live-texts").textContent);
  const stateText = document.getElementById("live-state");
  const message = document.getElementById("message");
  canvas.style.width = "100%";
  canvas.style.background = "#000";
  // Faces older than this are not drawn: the worker analyses a few frames a second.
  const HOLD_S = 1.0;
  const stats = {
    received: 0, drawn: 0, overlays: 0, fps: 0, lagS: null, faces: [], frameTime: null,
    drawnTimes: [],
    // The faces drawn over the picture now on the canvas (faces: the newest received).
    drawnFaces: [],
  };
  window.scasLiveStats = stats;
  let pending = null;
  let drawing = false;
  let overlay = null;

  function header(lines, name) {
    const wanted = name.toLowerCase() + ":";
    const line = lines.find((l) => l.toLowerCase().startsWith(wanted));
    return line === undefined ? null : line.slice(wanted.length).trim();
  }

  function drawFaces(now) {
    stats.drawnFaces = [];
    if (!overlay || now / 1000 - overlay.read_at > HOLD_S) {
      return;
    }
    stats.drawnFaces = overlay.faces;
    const height = canvas.height;
    const font = Math.max(12, Math.floor(height / 40));
    context.font = `bold ${font}px "Noto Sans CJK SC", sans-serif`;
    context.textBaseline = "top";
    for (const face of overlay.faces) {
      const [x1, y1, x2, y2] = face.box;
      context.strokeStyle = face.colour;
      context.lineWidth = Math.max(2, Math.floor(height / 360));
      context.strokeRect(x1, y1, x2 - x1, y2 - y1);
      const lift = font + 8;
      const width = context.measureText(face.caption).width + 8;
      context.fillStyle = face.colour;
      context.fillRect(x1, y1 - lift, width, lift);
      context.fillStyle = "#000";
      context.fillText(face.caption, x1 + 4, y1 - lift + 4);
    }
  }

  async function drawNewest() {
    if (drawing || pending === null) {
      return;
    }
    drawing = true;
    while (pending !== null) {
      const frame = pending;
      pending = null;
      try {
        const bitmap = await createImageBitmap(new Blob([frame.jpeg], { type: "image/jpeg" }));
        if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
          canvas.width = bitmap.width;
          canvas.height = bitmap.height;
        }
        context.drawImage(bitmap, 0, 0);
        bitmap.close();
      } catch (error) {
        continue; // a damaged frame: the next one will do
      }
      const now = Date.now();
      if (window.scasLiveHook) {
        window.scasLiveHook(context, frame);
      }
      drawFaces(now);
      stats.drawn += 1;
      stats.frameTime = frame.time;
      stats.lagS = now / 1000 - frame.time;
      stats.drawnTimes.push(now);
      while (stats.drawnTimes.length && now - stats.drawnTimes[0] > 5000) {
        stats.drawnTimes.shift();
      }
      const span = (now - stats.drawnTimes[0]) / 1000;
      stats.fps = span > 0 ? (stats.drawnTimes.length - 1) / span : 0;
    }
    drawing = false;
  }

  function received(type, lines, body) {
    if (type.startsWith("image/jpeg")) {
      stats.received += 1;
      pending = {
        jpeg: body,
        number: Number(header(lines, "X-Frame")),
        time: Number(header(lines, "X-Frame-Time")),
      };
      drawNewest();
    } else if (type.startsWith("application/json")) {
      overlay = JSON.parse(new TextDecoder().decode(body));
      stats.overlays += 1;
      stats.faces = overlay.faces;
    }
  }

  function concat(a, b) {
    const joined = new Uint8Array(a.length + b.length);
    joined.set(a, 0);
    joined.set(b, a.length);
    return joined;
  }

  function indexOf(buffer, bytes, from) {
    outer: for (let i = from; i <= buffer.length - bytes.length; i++) {
      for (let j = 0; j < bytes.length; j++) {
        if (buffer[i + j] !== bytes[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }

  const HEADERS_END = new TextEncoder().encode("\r\n\r\n");
  // Leaving the page ends the stream at once: the server stops the camera's ffmpeg when
  // its last viewer goes.
  const leaving = new AbortController();
  window.addEventListener("pagehide", () => leaving.abort());

  async function watch() {
    const response = await fetch(main.dataset.stream, {
      credentials: "same-origin", cache: "no-store", signal: leaving.signal,
    });
    if (!response.ok) {
      let why = response.statusText;
      try {
        why = (await response.json()).message || why;
      } catch (error) { /* not JSON */ }
      throw new Error(why);
    }
    stateText.textContent = t.console_live;
    message.textContent = "";
    const reader = response.body.getReader();
    let buffer = new Uint8Array(0);
    for (;;) {
      const { value, done } = await reader.read();
      if (done) {
        return;
      }
      buffer = concat(buffer, value);
      for (;;) {
        const end = indexOf(buffer, HEADERS_END, 0);
        if (end < 0) {
          break;
        }
        const lines = new TextDecoder().decode(buffer.subarray(0, end)).split("\r\n")
          .filter((line) => line && !line.startsWith("--"));
        const length = Number(header(lines, "Content-Length"));
        const start = end + HEADERS_END.length;
        if (buffer.length < start + length + 2) {
          break;
        }
        received(header(lines, "Content-Type") || "", lines, buffer.slice(start, start + length));
        buffer = buffer.slice(start + length + 2);
      }
    }
  }

  function showStats() {
    document.getElementById("live-fps").textContent = stats.fps.toFixed(1);
    document.getElementById("live-lag").textContent =
      stats.lagS === null ? "–" : Math.max(0, stats.lagS).toFixed(2);
    document.getElementById("live-faces").textContent = String(stats.faces.length);
  }
  setInterval(showStats, 500);

  async function keepWatching() {
    for (;;) {
      try {
        await watch();
        message.textContent = t.live_ended;
      } catch (error) {
        message.textContent = `${t.live_ended} (${error.message})`;
      }
      stateText.textContent = t.console_reconnecting;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
  }
  keepWatching();
})();
