/* History's browser-side callbacks (pages/history.py): the column chooser and grouping shape the column
   definitions, and the search, grouping and column filters are written to the query string without a page load. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  modelwatch: Object.assign({}, (window.dash_clientside || {}).modelwatch, {
    historyColumns: function (shown, grouped, base) {
      const triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) {
        return t.prop_id;
      });
      const regroup = triggered.some(function (id) { return id.indexOf("history-group-switch") === 0; });
      const visible = shown || [];
      return (base || []).map(function (column) {
        const col = Object.assign({}, column);
        delete col.initialSort;
        if (col.field === "model") {
          col.hide = !grouped;
        } else if (col.field !== "group_rank" && col.field !== "name" && col.field !== "verdict") {
          col.hide = visible.indexOf(col.field) < 0;
        }
        if (regroup) {  // only a change of grouping resets the sort; choosing columns keeps the user's
          col.sort = grouped ? (col.field === "group_rank" ? "asc" : null)
                             : (col.field === "created_at" ? "desc" : null);
        }
        return col;
      });
    },
    historyUrl: function (text, grouped, filterModel) {
      const params = new URLSearchParams();
      if (text) { params.set("q", text); }
      if (grouped) { params.set("group", "model"); }
      if (filterModel && Object.keys(filterModel).length) { params.set("filter", JSON.stringify(filterModel)); }
      const query = params.toString();
      const target = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
      if (target !== window.location.pathname + window.location.search + window.location.hash) {
        window.history.replaceState(window.history.state, "", target);
      }
      return query;
    }
  })
});
