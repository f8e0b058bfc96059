// The "Print" button of a page meant for paper (the card letter): a button marked `data-print`
// opens the browser's print dialog. Without JavaScript the browser's own Print does the same.
(function () {
  var buttons = document.querySelectorAll("button[data-print]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
})();
