// The quota upload's progress bar: the form still posts without JavaScript; with it, the bytes
// sent so far show while a large file goes up, and the server's answer replaces the page.
(function () {
  var form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest || !window.FormData) { return; }
  var bar = document.getElementById("upload-progress");
  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var request = new XMLHttpRequest();
    request.open("POST", form.action);
    request.upload.addEventListener("progress", function (progress) {
      if (progress.lengthComputable) {
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
    bar.hidden = false;
    request.send(new FormData(form));
  });
})();
