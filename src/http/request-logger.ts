// The logger Fastify gives each request (request.log), made only when the request logs.
// Fastify's default makes a pino child logger for every request, binding its id: pino copies the
// parent's settings and serialises the bindings into a string at once, several microseconds and
// objects per request, while a request that succeeds logs nothing (the access log is off, or
// writes one line at its end). This stands in for the child and makes it on the first line
// logged, with the same bindings, so every line a request logs still carries its reqId.
import type { FastifyBaseLogger } from 'fastify';

type Bindings = Parameters<FastifyBaseLogger['child']>[0];
type ChildOptions = Parameters<FastifyBaseLogger['child']>[1];
type LogArguments = Parameters<FastifyBaseLogger['info']>;

export class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Bindings,
    private readonly options: ChildOptions,
  ) {}

  /** The child logger, made now if this is the first line. */
  #logger(): FastifyBaseLogger {
    this.#child ??= this.parent.child(this.bindings, this.options);
    return this.#child;
  }

  get level(): string {
    return this.#child?.level ?? this.options?.level ?? this.parent.level;
  }

  set level(level: string) {
    this.#logger().level = level;
  }

  fatal(...args: LogArguments): void {
    this.#logger().fatal(...args);
  }

  error(...args: LogArguments): void {
    this.#logger().error(...args);
  }

  warn(...args: LogArguments): void {
    this.#logger().warn(...args);
  }

  info(...args: LogArguments): void {
    this.#logger().info(...args);
  }

  debug(...args: LogArguments): void {
    this.#logger().debug(...args);
  }

  trace(...args: LogArguments): void {
    this.#logger().trace(...args);
  }

  silent(...args: LogArguments): void {
    this.#logger().silent(...args);
  }

  child(bindings: Bindings, options?: ChildOptions): FastifyBaseLogger {
    return this.#logger().child(bindings, options);
  }
}
