/**
 * Share links: a program (and optionally a finished execution's result) kept under an
 * unguessable id that any key may open (the playground's `/?share={id}`).
 */
import { dedent as dedentCode } from './dedent.js';
import type { RequestOptions, Transport } from './http.js';
import { ROUTES } from './routes.js';
import type { Share, ShareLink, ShareRequest } from './types.js';

/**
 * Share links (`client.shares`): {@link Shares.create} keeps a program, and optionally a
 * finished execution's result, under a new unguessable id; {@link Shares.get} opens it with
 * any key.
 */
export class Shares {
  /** @internal */
  constructor(private readonly t: Transport) {}

  /**
   * Shares a program (`POST /api/shares`); resolves to its `id`, `url` (`/?share={id}`)
   * and `created`. The fields are checked as {@link Client.execute} checks them; with
   * `execution_id` that execution's result (it must be the caller's and finished) is
   * copied into the share.
   */
  create(request: ShareRequest, options?: RequestOptions): Promise<ShareLink> {
    const { dedent, ...body } = request;
    if (dedent !== false && typeof body.code === 'string') body.code = dedentCode(body.code);
    return this.t.call<ShareLink>(ROUTES.createShare, { json: body, ...options });
  }

  /** A shared program by id (`GET /api/shares/{id}`), for any key; {@link NotFoundError} if unknown. */
  get(id: string, options?: RequestOptions): Promise<Share> {
    return this.t.call<Share>(ROUTES.getShare, { params: { id }, ...options });
  }
}
