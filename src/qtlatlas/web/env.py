"""The environment variable naming the site a portal worker serves (set by ``qtlatlas serve``); a module of
its own so that the serving process can set it without importing the application."""

SITE_ENV = "QTLATLAS_SITE"
