"""Who may see what: the visibility of releases, tissues, studies and TWAS traits (:mod:`.policy`) and the
access tokens that open private items to their holders (:mod:`.tokens`)."""
