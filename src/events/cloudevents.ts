// CloudEvents 1.0 as an alternative delivery format (an endpoint's format: cloudevents): each
// event becomes one structured-mode CloudEvent over HTTP. Stub until the cloudevents package is
// added: endpoints cannot choose this format yet (the config and admin API refuse it).
export function toCloudEvent(_eventJson: string): { body: string; contentType: string } {
  throw new Error('the cloudevents format is not available yet');
}
