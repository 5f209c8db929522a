/* The shell's browser-side callbacks (modelwatch/dashboard/layout.py): the phone navbar's toggler. */
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  modelwatch: Object.assign({}, (window.dash_clientside || {}).modelwatch, {
    navbarOpen: function (_clicks, _pathname, isOpen) {
      const triggered = (window.dash_clientside.callback_context.triggered || []).map(function (t) {
        return t.prop_id;
      });
      const toggled = triggered.some(function (id) { return id.indexOf("shell-navbar-toggler") === 0; });
      return toggled ? !isOpen : false;  // a new page closes the menu
    }
  })
});
