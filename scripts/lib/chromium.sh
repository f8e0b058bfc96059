# Shared by scripts/test (and scripts/screenshots): find (or install) Debian's Chromium and its
# WebDriver, for the browser tests (tests/browser.rs) and the screenshots in docs/ui/.
# Sets CHROMEDRIVER to the driver's path.

install_chromium() {
    log "Chromium or ChromeDriver not found: installing chromium and chromium-driver from Debian's packages"
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo=sudo
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium chromium-driver >/dev/null
}

find_chromium() {
    if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
        install_chromium
    fi
    CHROMEDRIVER=$(command -v chromedriver)
    export CHROMEDRIVER
}
