// File uploads' progress bars (the quota file, the bank's file): every form marked
// `data-upload-progress` still posts without JavaScript; with it, the share of the file sent so
// far shows in the form's <progress> while a large file goes up, and the server's answer
// replaces the page. The answer is shown as it came, whatever its status (a refusal is a page
// too), at the address it came from: asking for that address again would be a second request,
// a GET of an address that only takes a POST, or a page whose one-time errors were already shown.
(function () {
  if (!window.XMLHttpRequest || !window.FormData) { return; }
  var forms = document.querySelectorAll("form[data-upload-progress]");
  Array.prototype.forEach.call(forms, function (form) {
    var bar = form.querySelector("progress");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var request = new XMLHttpRequest();
      request.open("POST", form.action);
      request.upload.addEventListener("progress", function (progress) {
        if (progress.lengthComputable && bar) {
          bar.hidden = false;
          bar.value = Math.round((progress.loaded / progress.total) * 100);
        }
      });
      request.addEventListener("load", function () {
        var answeredAt = request.responseURL;
        document.open();
        document.write(request.responseText);
        document.close();
        if (answeredAt && answeredAt !== window.location.href && window.history.replaceState) {
          window.history.replaceState(null, "", answeredAt);
        }
      });
      if (bar) { bar.hidden = false; }
      request.send(new FormData(form));
    });
  });
})();
