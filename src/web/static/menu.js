// The header's menu on a phone: the links fold behind a "Menu" button so that the page starts
// near the top of the screen. Without JavaScript the links simply show (the button stays hidden);
// on a wide screen the stylesheet shows the links and hides the button whatever this does.
(function () {
  var toggle = document.querySelector("header .menu-toggle");
  var menu = document.getElementById("site-menu");
  if (!toggle || !menu) { return; }
  menu.classList.add("folded");
  toggle.hidden = false;
  toggle.addEventListener("click", function () {
    var open = menu.classList.toggle("folded") === false;
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
})();
