"""Routes compatible with other portals' APIs, so existing client scripts work against any qtlatlas site."""
