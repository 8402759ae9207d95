// A live feed of server-sent events, for the big screen and the console: calls
// onData(parsed JSON) for each `name` event. EventSource reconnects by itself after a
// dropped connection (after the server's `retry:`); when the browser gives up (a closed
// feed: an error answer) a new one is opened after a growing pause. onState(true|false)
// says whether the feed is connected.
window.scasLive = function (url, name, onData, onState) {
  "use strict";
  const said = onState || function () {};
  let retryMs = 1000;
  function connect() {
    const source = new EventSource(url);
    source.addEventListener("open", () => said(true));
    source.addEventListener(name, (message) => {
      retryMs = 1000;
      said(true);
      onData(JSON.parse(message.data));
    });
    source.addEventListener("error", () => {
      said(false);
      if (source.readyState === EventSource.CLOSED) {
        setTimeout(connect, retryMs);
        retryMs = Math.min(retryMs * 2, 30000);
      }
    });
  }
  connect();
};
