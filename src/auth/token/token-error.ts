// The one error the token module throws for a token it refuses. Its message is a reason safe to
// show to clients (it goes into the Bearer challenge's error_description): it never contains the
// token or any other secret, only what was wrong with it.

export class TokenError extends Error {
  override readonly name = 'TokenError';

  constructor(readonly reason: string) {
    super(reason);
  }
}
