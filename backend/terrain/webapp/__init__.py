"""The field app (the PWA built from ``pwa/``) served at ``/`` beside the API."""
