// GET /v2/: the API version check every client makes first.
import type { RequestContext } from '../context.js';

export async function getBase(ctx: RequestContext): Promise<void> {
  ctx.reply.header('Content-Type', 'application/json').send('{}');
}
