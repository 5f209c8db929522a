/* The run page's elapsed timer: ticks in the browser between server polls (pages/run.py). */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  modelwatch: Object.assign({}, (window.dash_clientside || {}).modelwatch, {
    elapsed: function (_n, timer) {
      if (!timer || !timer.started_at) {
        return window.dash_clientside.no_update;
      }
      if (timer.duration_s !== null && timer.duration_s !== undefined) {
        return timer.duration_s.toFixed(1) + " s";
      }
      const seconds = Math.max(0, (Date.now() - Date.parse(timer.started_at)) / 1000);
      const minutes = Math.floor(seconds / 60);
      const text = minutes ? minutes + " min " + Math.floor(seconds % 60) + " s" : seconds.toFixed(1) + " s";
      return (timer.queued ? "queued for " : "") + text + " so far";
    }
  })
});
