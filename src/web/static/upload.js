// File uploads' progress bars (the quota file, the bank's file): every form marked
// `data-upload-progress` still posts without JavaScript; with it, the share of the file sent so
// far shows in the form's <progress> while a large file goes up, and the server's answer
// replaces the page.
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
        if (request.responseURL && request.responseURL !== window.location.href) {
          window.location.assign(request.responseURL);
        } else {
          document.open();
          document.write(request.responseText);
          document.close();
        }
      });
      if (bar) { bar.hidden = false; }
      request.send(new FormData(form));
    });
  });
})();
