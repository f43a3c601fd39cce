// Webhooks and events: the endpoints (/api/v1/webhooks: the configuration file's, read-only,
// and those created here, with a signing secret shown once), a test delivery, each endpoint's
// delivery history (state, attempts, response code, last error) with redelivery of one event
// (/api/v1/events/:id/redeliver), and the events recorded in the outbox (/api/v1/events) with
// filters and cursor paging, each with its deliveries to every endpoint.
import { useState } from 'preact/hooks';
import {
  createWebhook,
  type Delivery,
  deleteWebhook,
  type EventFilter,
  type EventRecord,
  getEvent,
  listEndpointDeliveries,
  listEvents,
  listWebhooks,
  type NewWebhookEndpoint,
  redeliver,
  testWebhook,
  type WebhookEndpoint,
  type WebhookFormat,
  type WebhookTestResult,
} from '../../admin-api';
import { CopyCommand, Show, useLoad } from '../../components';
import { shortDigest } from '../../format';
import {
  ActionError,
  AdminForm,
  Check,
  CursorPager,
  Field,
  FromConfig,
  RemoveButton,
  splitList,
  useAction,
  useCursorPages,
  When,
} from './shared';

function Endpoints() {
  const [loaded, reload] = useLoad(listWebhooks, []);
  const [open, setOpen] = useState<WebhookEndpoint | undefined>();
  return (
    <section aria-labelledby="endpoints-heading">
      <h2 id="endpoints-heading">Endpoints</h2>
      <Show loaded={loaded} what="webhook endpoints">
        {(endpoints) =>
          endpoints.length === 0 ? (
            <p class="muted">No endpoints: events are not recorded until one exists.</p>
          ) : (
            <table class="listing">
              <caption class="visually-hidden">Webhook endpoints</caption>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">URL</th>
                  <th scope="col">Sends</th>
                  <th scope="col">Pending</th>
                  <th scope="col">Manage</th>
                </tr>
              </thead>
              <tbody>
                {endpoints.map((endpoint) => (
                  <EndpointRow
                    key={endpoint.id}
                    endpoint={endpoint}
                    open={open?.id === endpoint.id}
                    toggle={() => setOpen(open?.id === endpoint.id ? undefined : endpoint)}
                    removed={reload}
                  />
                ))}
              </tbody>
            </table>
          )
        }
      </Show>
      {open !== undefined && <EndpointDeliveries endpoint={open} />}
      <NewEndpoint created={reload} />
    </section>
  );
}

function EndpointRow({
  endpoint,
  open,
  toggle,
  removed,
}: {
  endpoint: WebhookEndpoint;
  open: boolean;
  toggle: () => void;
  removed: () => void;
}) {
  const action = useAction();
  const [result, setResult] = useState<WebhookTestResult | undefined>();
  const test = async (): Promise<void> => {
    setResult(undefined);
    await action.run(async () => setResult(await testWebhook(endpoint.id)));
  };
  return (
    <tr>
      <th scope="row">
        {endpoint.name} {endpoint.readOnly && <FromConfig />}
      </th>
      <td class="wrap">{endpoint.url}</td>
      <td>
        {endpoint.actions === null ? 'every action' : endpoint.actions.join(', ')} of{' '}
        {endpoint.namespace === null ? 'every repository' : `${endpoint.namespace}/…`}, as {endpoint.format}
      </td>
      <td>{endpoint.pending}</td>
      <td>
        <div class="row-actions">
          <button type="button" class="secondary" aria-expanded={open} onClick={toggle}>
            Deliveries to {endpoint.name}
          </button>
          <button type="button" class="secondary" disabled={action.busy} onClick={test}>
            Send a test to {endpoint.name}
          </button>
          {!endpoint.readOnly && (
            <RemoveButton
              label={`Delete ${endpoint.name}`}
              question={`Delete endpoint ${endpoint.name} and its delivery history?`}
              confirmLabel="Delete endpoint"
              remove={() => deleteWebhook(endpoint.id)}
              removed={removed}
            />
          )}
        </div>
        <ActionError action={action} />
        {result !== undefined && (
          <p role="status" class={result.delivered ? 'notice' : 'notice warning'}>
            Test {result.delivered ? 'delivered' : 'not delivered'}
            {result.responseCode === null ? '' : `: HTTP ${result.responseCode}`}
            {result.error === null ? '' : ` (${result.error})`}.
          </p>
        )}
      </td>
    </tr>
  );
}

function EndpointDeliveries({ endpoint }: { endpoint: WebhookEndpoint }) {
  const pages = useCursorPages();
  const [loaded, reload] = useLoad(() => listEndpointDeliveries(endpoint.id, pages.before), [endpoint.id, pages.before]);
  const action = useAction();
  const [again, setAgain] = useState<string | undefined>();
  const redeliverOne = async (eventId: string): Promise<void> => {
    setAgain(undefined);
    if (await action.run(() => redeliver(eventId, endpoint.id))) {
      setAgain(eventId);
      reload();
    }
  };
  return (
    <section aria-labelledby="endpoint-deliveries-heading" class="card">
      <h3 id="endpoint-deliveries-heading">Deliveries to {endpoint.name}</h3>
      <Show loaded={loaded} what={`the deliveries to ${endpoint.name}`}>
        {(page) => (
          <>
            {page.deliveries.length === 0 ? (
              <p class="muted">Nothing sent yet.</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Deliveries to {endpoint.name}, newest event first</caption>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">State</th>
                    <th scope="col">Attempts</th>
                    <th scope="col">Response</th>
                    <th scope="col">Last error</th>
                    <th scope="col">Updated</th>
                    <th scope="col">Again</th>
                  </tr>
                </thead>
                <tbody>
                  {page.deliveries.map((delivery) => (
                    <tr key={delivery.eventId}>
                      <td>
                        {delivery.action} {delivery.repository ?? ''}
                        {delivery.tag === undefined ? '' : `:${delivery.tag}`} <When at={delivery.eventCreatedAt} />
                      </td>
                      <DeliveryState delivery={delivery} />
                      <td>
                        <button type="button" class="secondary" disabled={action.busy} onClick={() => redeliverOne(delivery.eventId)}>
                          Redeliver {delivery.action} of <When at={delivery.eventCreatedAt} />
                        </button>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            )}
            <CursorPager pages={pages} next={page.next} what="deliveries" />
          </>
        )}
      </Show>
      <ActionError action={action} />
      {again !== undefined && (
        <p role="status" class="notice">
          Event <code>{again}</code> is due again to {endpoint.name}.
        </p>
      )}
    </section>
  );
}

function NewEndpoint({ created }: { created: () => void }) {
  const [name, setName] = useState('');
  const [namespace, setNamespace] = useState('');
  const [url, setUrl] = useState('');
  const [format, setFormat] = useState<WebhookFormat>('distribution-v2');
  const [actions, setActions] = useState('');
  const [allowPrivate, setAllowPrivate] = useState(false);
  const [secret, setSecret] = useState<NewWebhookEndpoint | undefined>();
  const action = useAction();
  const submit = async (): Promise<void> => {
    setSecret(undefined);
    const input = {
      name: name.trim(),
      url: url.trim(),
      format,
      ...(namespace.trim() === '' ? {} : { namespace: namespace.trim() }),
      ...(splitList(actions).length === 0 ? {} : { actions: splitList(actions) }),
      ...(allowPrivate ? { allowPrivateAddresses: true } : {}),
    };
    await action.run(async () => {
      setSecret(await createWebhook(input));
      setName('');
      setUrl('');
      created();
    });
  };
  return (
    <>
      <h3>Add an endpoint</h3>
      <AdminForm label="Add a webhook endpoint" onSubmit={submit}>
        <Field id="webhook-name" label="Endpoint name" value={name} onInput={setName} required autocomplete="off" />
        <Field id="webhook-url" label="URL" value={url} onInput={setUrl} required autocomplete="off" hint="http:// or https://" />
        <Field id="webhook-namespace" label="Namespace" value={namespace} onInput={setNamespace} hint="Empty: every repository." />
        <div class="field">
          <label for="webhook-format">Format</label>
          <select id="webhook-format" value={format} onChange={(event) => setFormat(event.currentTarget.value as WebhookFormat)}>
            <option value="distribution-v2">Distribution (v2)</option>
            <option value="distribution-v1">Distribution (v1)</option>
            <option value="cloudevents">CloudEvents</option>
          </select>
        </div>
        <Field
          id="webhook-actions"
          label="Event actions"
          value={actions}
          onInput={setActions}
          hint="push, pull, delete, mount, …; empty: all."
        />
        <Check id="webhook-private" label="Allow private addresses" checked={allowPrivate} onChange={setAllowPrivate} />
        <button type="submit" disabled={action.busy}>
          Add endpoint
        </button>
      </AdminForm>
      <ActionError action={action} />
      {secret !== undefined && (
        <div class="once" role="status">
          <p>
            <strong>Endpoint {secret.name} added.</strong> Its signing secret (X-Berth-Signature-256) is shown only this once:
          </p>
          <CopyCommand label="the signing secret" command={secret.secret} />
        </div>
      )}
    </>
  );
}

export function Webhooks() {
  return (
    <section aria-labelledby="webhooks-heading">
      <h1 id="webhooks-heading">Webhooks and events</h1>
      <Endpoints />
      <Events />
    </section>
  );
}

/** A delivery's state, attempts, response code, last error and last change: five cells. */
function DeliveryState({ delivery }: { delivery: Delivery }) {
  return (
    <>
      <td>{delivery.state}</td>
      <td>{delivery.attempts}</td>
      <td>{delivery.responseCode ?? '–'}</td>
      <td>{delivery.lastError ?? ''}</td>
      <td>
        <When at={delivery.updatedAt} />
      </td>
    </>
  );
}

function DeliveryTable({ deliveries, caption }: { deliveries: Delivery[]; caption: string }) {
  return (
    <table class="listing">
      <caption class="visually-hidden">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">Endpoint</th>
          <th scope="col">Event</th>
          <th scope="col">State</th>
          <th scope="col">Attempts</th>
          <th scope="col">Response</th>
          <th scope="col">Last error</th>
          <th scope="col">Updated</th>
        </tr>
      </thead>
      <tbody>
        {deliveries.map((delivery) => (
          <tr key={`${delivery.endpoint}/${delivery.eventId}`}>
            <td>{delivery.endpoint}</td>
            <td>
              <code>{delivery.eventId}</code>
            </td>
            <DeliveryState delivery={delivery} />
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Events() {
  const [filter, setFilter] = useState<EventFilter>({});
  const [action, setAction] = useState('');
  const [repository, setRepository] = useState('');
  const [actor, setActor] = useState('');
  const pages = useCursorPages();
  const { before } = pages;
  const [loaded] = useLoad(() => listEvents({ ...filter, ...(before === undefined ? {} : { before }) }), [filter, before]);
  const [open, setOpen] = useState<string | undefined>();
  const apply = (): void => {
    pages.reset();
    setFilter({ action: action.trim(), repository: repository.trim(), actor: actor.trim() });
  };
  return (
    <section aria-labelledby="events-heading">
      <h2 id="events-heading">Events</h2>
      <AdminForm label="Filter events" onSubmit={apply}>
        <Field id="event-action" label="Action" value={action} onInput={setAction} hint="push, pull or delete." />
        <Field id="event-repository" label="Repository" value={repository} onInput={setRepository} />
        <Field id="event-actor" label="Actor" value={actor} onInput={setActor} />
        <button type="submit" class="secondary">
          Filter events
        </button>
      </AdminForm>
      <Show loaded={loaded} what="events">
        {(page) => (
          <>
            {page.events.length === 0 ? (
              <p class="muted">No events.</p>
            ) : (
              <table class="listing">
                <caption class="visually-hidden">Events, newest first</caption>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Action</th>
                    <th scope="col">Repository</th>
                    <th scope="col">Tag or digest</th>
                    <th scope="col">Actor</th>
                    <th scope="col">Deliveries</th>
                  </tr>
                </thead>
                <tbody>
                  {page.events.map((event) => (
                    <EventRow
                      key={event.id}
                      event={event}
                      open={open === event.id}
                      toggle={() => setOpen(open === event.id ? undefined : event.id)}
                    />
                  ))}
                </tbody>
              </table>
            )}
            <CursorPager pages={pages} next={page.next} what="events" />
          </>
        )}
      </Show>
      {open !== undefined && <EventDeliveries id={open} />}
    </section>
  );
}

function EventRow({ event, open, toggle }: { event: EventRecord; open: boolean; toggle: () => void }) {
  return (
    <tr>
      <td>
        <When at={event.createdAt} />
      </td>
      <td>{event.action}</td>
      <td>{event.repository ?? ''}</td>
      <td>{event.tag ?? (event.digest === undefined ? '' : <code>{shortDigest(event.digest)}</code>)}</td>
      <td>{event.actor ?? <span class="muted">anonymous</span>}</td>
      <td>
        <button type="button" class="secondary" aria-expanded={open} onClick={toggle}>
          Deliveries
          <span class="visually-hidden">
            {' '}
            of {event.action} {event.tag ?? ''} at {new Date(event.createdAt).toLocaleTimeString()}
          </span>
        </button>
      </td>
    </tr>
  );
}

function EventDeliveries({ id }: { id: string }) {
  const [loaded, reload] = useLoad(() => getEvent(id), [id]);
  const action = useAction();
  const [count, setCount] = useState<number | undefined>();
  const again = async (): Promise<void> => {
    setCount(undefined);
    await action.run(async () => {
      setCount(await redeliver(id));
      reload();
    });
  };
  return (
    <section aria-labelledby="event-deliveries-heading" class="card">
      <h3 id="event-deliveries-heading">
        Deliveries of event <code>{id}</code>
      </h3>
      <Show loaded={loaded} what="the event's deliveries">
        {(event) =>
          event.deliveries.length === 0 ? (
            <p class="muted">No endpoint was sent this event.</p>
          ) : (
            <>
              {event.batch !== undefined && (
                <p class="muted">
                  A pull event, delivered in a batch of {event.batch.size} (<code>{event.batch.id}</code>): these are the batch's
                  deliveries, and redelivering sends the whole batch again.
                </p>
              )}
              <DeliveryTable deliveries={event.deliveries} caption={`Deliveries of event ${id}`} />
              <button type="button" disabled={action.busy} onClick={again}>
                {event.batch === undefined ? 'Redeliver' : 'Redeliver the batch'}
              </button>
            </>
          )
        }
      </Show>
      <ActionError action={action} />
      {count !== undefined && (
        <p role="status" class="notice">
          Due again now: {count} {count === 1 ? 'delivery' : 'deliveries'}.
        </p>
      )}
    </section>
  );
}
