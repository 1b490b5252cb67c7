"""attachments domain: photos, audio and files, uploaded resumably and stored by content hash."""
