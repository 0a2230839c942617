"""Loading files: recognise each (``extract.kinds``), read it with the pure readers, write it in one transaction."""
