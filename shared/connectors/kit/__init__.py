"""The connector kit: the parts every vendor connector is built from instead of copying another.

* ``errors``  — one status → error table per vendor, merged over ``DEFAULT_RULES``
  (Airbyte's error mapping, rclone's ``retryErrorCodes`` + ``shouldRetry``): a response
  becomes a typed ``shared.errors`` error, and the pacer's action table decides what to do.
* ``auth``    — credentials as request headers; ``TokenSource`` for tokens that can be
  refreshed (OAuth refresh token, Entra client credentials / ROPC).
* ``rotation`` — ``RotatingRefreshGrant``: refresh tokens that rotate, each stored through the
  runtime's ``SecretKeeper`` before its access token is used.
* ``http``    — ``ApiClient``: every call through the credential's pacer, checked by the
  vendor's table, refreshed once after a 401, idempotent deletes, streamed uploads and
  downloads (redirects followed without credentials).
* ``cursor``  — ``CursorCodec``: compact, validated cursors; anything else is
  ``InvalidCursor``.
* ``paging``  — declarative paginators (cursor token, offset, link) with loop detection.
* ``markers`` — finding and writing the source marker in a description footer.
* ``subtasks`` — adaptations of destinations whose subtasks hang under their parent.
* ``definitions`` — "define once" under races (two workers create the same definition:
  both keep the one with the smallest id).
* ``loaded_once`` — ``LoadedOnce``: a look-up a writer makes once per key (per project,
  per site) even when a page's concurrent writes all ask for it first.

``shared/connectors/README.md`` says how a vendor is put together from these parts.
"""
