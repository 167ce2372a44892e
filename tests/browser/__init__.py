"""Browser tests of the portal pages (Playwright driving Debian Chromium)."""
